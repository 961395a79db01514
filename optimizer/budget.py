"""Dollars and stops for an optimization run, enforced at the one place every LM call passes."""

from __future__ import annotations

import threading
from decimal import Decimal

from judging.models import ModelEndpoint
from judging.program import MeteredLM, usage_tokens

CHARS_PER_TOKEN = 3  # a prompt's tokens, guessed before the call: a little high for English, on purpose


class RunStopped(BaseException):  # noqa: N818 - a stop, not an error
    """Raised inside an LM call to stop a run at once. A BaseException, so that DSPy's and GEPA's
    `except Exception` handlers let it through instead of scoring it as a failed example."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Budget:
    """Shared by every LM of a run (judge and reflection), across threads.

    The dollar cap is hard: before each call its cost is estimated and reserved, and a call whose
    estimate would take what is spent past the cap is not made (the run stops). Calls in flight on
    other threads hold their reservations, so together they cannot cross the cap either; what is left
    is the estimates' own error, well under one call's cost."""

    def __init__(self, *, max_dollars: Decimal | None, already_spent: Decimal = Decimal(0)):
        self.max_dollars = max_dollars
        self._spent = Decimal(already_spent)  # a resumed run carries what it spent before
        self._reserved = Decimal(0)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a reservation released, or the run stopped
        self.largest_call = Decimal(0)
        self.longest_reply: dict[int, int] = {}  # output tokens of the longest reply, per endpoint
        self.stop_reason: str | None = None
        if max_dollars is not None and self._spent >= max_dollars:
            self.stop_reason = "dollar_cap"

    @property
    def spent(self) -> Decimal:
        return self._spent

    def charge(self, dollars: Decimal) -> None:
        with self._lock:
            self._spent += dollars
            self.largest_call = max(self.largest_call, dollars)
            if self.max_dollars is not None and self._spent >= self.max_dollars and self.stop_reason is None:
                self.stop_reason = "dollar_cap"

    def note_reply(self, endpoint_id: int, tokens_out: int) -> None:
        with self._lock:
            self.longest_reply[endpoint_id] = max(self.longest_reply.get(endpoint_id, 0), tokens_out)

    def reserve(self, dollars: Decimal) -> None:
        """Hold a call's estimated cost until it is charged, or stop the run if it cannot fit. A call
        that fits only once the calls in flight are charged waits for them (they may cost less than
        their estimates) instead of ending the run early."""
        with self._changed:
            while True:
                if self.stop_reason is not None:
                    raise RunStopped(self.stop_reason)
                if self.max_dollars is None or self._spent + self._reserved + dollars <= self.max_dollars:
                    self._reserved += dollars
                    return
                if self._reserved == 0 or self._spent + dollars > self.max_dollars:
                    self.stop_reason = "dollar_cap"
                    self._changed.notify_all()
                    raise RunStopped(self.stop_reason)
                self._changed.wait()

    def release(self, dollars: Decimal) -> None:
        with self._changed:
            self._reserved -= dollars
            self._changed.notify_all()

    def stop(self, reason: str) -> None:
        with self._changed:
            if self.stop_reason is None:
                self.stop_reason = reason
            self._changed.notify_all()

    def check(self) -> None:
        if self.stop_reason is not None:
            raise RunStopped(self.stop_reason)


def prompt_chars(args: tuple, kwargs: dict) -> int:
    """Characters of what an LM call sends: a prompt string, chat messages, or a dspy.lm15.Request."""
    sent = (
        kwargs.get("messages") or kwargs.get("prompt") or kwargs.get("request") or (args[0] if args else "")
    )
    if isinstance(sent, str):
        return len(sent)
    if isinstance(sent, list):
        return sum(
            len(str(message.get("content", ""))) if isinstance(message, dict) else len(str(message))
            for message in sent
        )
    return len(str(sent))


class BudgetedLM(MeteredLM):
    """Refuses every call once the run's budget says stop or the call would cross the dollar cap, and
    charges each call at the endpoint's prices."""

    budget: Budget | None = None
    endpoint: ModelEndpoint | None = None

    def call_estimate(self, args: tuple, kwargs: dict) -> Decimal:
        """The prompt's tokens, and as many output tokens as the longest reply so far (max_tokens before
        any reply), at the endpoint's prices; without prices, the dearest call so far."""
        endpoint, budget = self.endpoint, self.budget
        if endpoint is None or not endpoint.has_prices:
            return budget.largest_call
        tokens_in = prompt_chars(args, kwargs) // CHARS_PER_TOKEN + 1
        longest = budget.longest_reply.get(endpoint.pk)
        tokens_out = longest if longest is not None else endpoint.max_tokens
        return endpoint.price_of(tokens_in, tokens_out)

    def __call__(self, *args, **kwargs):
        if self.budget is None:
            return super().__call__(*args, **kwargs)
        estimate = self.call_estimate(args, kwargs)
        self.budget.reserve(estimate)
        try:
            return super().__call__(*args, **kwargs)
        finally:
            self.budget.release(estimate)

    async def acall(self, *args, **kwargs):
        if self.budget is None:
            return await super().acall(*args, **kwargs)
        estimate = self.call_estimate(args, kwargs)
        self.budget.reserve(estimate)
        try:
            return await super().acall(*args, **kwargs)
        finally:
            self.budget.release(estimate)

    def update_history(self, entry) -> None:
        super().update_history(entry)
        if self.budget is None:
            return
        tokens_in, tokens_out = usage_tokens(entry)
        if self.endpoint is not None and self.endpoint.has_prices:
            dollars = self.endpoint.price_of(tokens_in, tokens_out)
            self.budget.note_reply(self.endpoint.pk, tokens_out)
        else:
            dollars = Decimal(str(entry.get("cost") or 0))
        self.budget.charge(dollars)


def budgeted_lm(endpoint, budget: Budget) -> BudgetedLM:
    from judging.program import endpoint_lm

    lm = endpoint_lm(endpoint, lm_class=BudgetedLM)
    lm.budget = budget
    lm.endpoint = endpoint
    return lm
