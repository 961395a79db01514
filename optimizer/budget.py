"""Dollars and stops for an optimization run, enforced at the one place every LM call passes."""

from __future__ import annotations

import threading
from decimal import Decimal

from judging.models import ModelEndpoint
from judging.program import MeteredLM, usage_tokens


class RunStopped(BaseException):  # noqa: N818 - a stop, not an error
    """Raised inside an LM call to stop a run at once. A BaseException, so that DSPy's and GEPA's
    `except Exception` handlers let it through instead of scoring it as a failed example."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Budget:
    """Shared by every LM of a run (judge and reflection), across threads."""

    def __init__(self, *, max_dollars: Decimal | None):
        self.max_dollars = max_dollars
        self._spent = Decimal(0)
        self._lock = threading.Lock()
        self.stop_reason: str | None = None

    @property
    def spent(self) -> Decimal:
        return self._spent

    def charge(self, dollars: Decimal) -> None:
        with self._lock:
            self._spent += dollars
            if self.max_dollars is not None and self._spent >= self.max_dollars and self.stop_reason is None:
                self.stop_reason = "dollar_cap"

    def stop(self, reason: str) -> None:
        with self._lock:
            if self.stop_reason is None:
                self.stop_reason = reason

    def check(self) -> None:
        if self.stop_reason is not None:
            raise RunStopped(self.stop_reason)


class BudgetedLM(MeteredLM):
    """Refuses every call once the run's budget says stop, and charges each call at the endpoint's prices."""

    budget: Budget | None = None
    endpoint: ModelEndpoint | None = None

    def __call__(self, *args, **kwargs):
        if self.budget is not None:
            self.budget.check()
        return super().__call__(*args, **kwargs)

    async def acall(self, *args, **kwargs):
        if self.budget is not None:
            self.budget.check()
        return await super().acall(*args, **kwargs)

    def update_history(self, entry) -> None:
        super().update_history(entry)
        if self.budget is None:
            return
        if self.endpoint is not None and self.endpoint.has_prices:
            dollars = self.endpoint.price_of(*usage_tokens(entry))
        else:
            dollars = Decimal(str(entry.get("cost") or 0))
        self.budget.charge(dollars)


def budgeted_lm(endpoint, budget: Budget) -> BudgetedLM:
    from judging.program import endpoint_lm

    lm = endpoint_lm(endpoint, lm_class=BudgetedLM)
    lm.budget = budget
    lm.endpoint = endpoint
    return lm
