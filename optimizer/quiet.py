"""No DSPy or GEPA progress bars in Flywheel's output. dspy 3.4.1 draws one tqdm bar ("Average Metric:
…") per evaluation from places that pass display_progress=True explicitly (bootstrap_trace_data, which
GEPA's adapter calls on every minibatch; MIPROv2's Evaluate), and dspy.GEPA passes
display_progress_bar=True to gepa.optimize; an explicit disable=False beats TQDM_DISABLE. A worker log
or an `--inline` CLI run would be mostly bars. Where Flywheel builds an Evaluate itself it passes
display_progress=False; for the two places it cannot reach, the names are rebound once, here.
FLYWHEEL_DSPY_PROGRESS=1 or FLYWHEEL_VERBOSE=1 leaves the bars on (for a person watching a search in a
terminal). MIPROv2's proposer also passes inputs its own signatures lack, and DSPy warns about it for every
proposed instruction; those warnings go too (FLYWHEEL_VERBOSE=1 keeps them)."""

from __future__ import annotations

import functools
import logging
import os
import re
import threading

import dspy

from config.env import flywheel_verbose

_lock = threading.Lock()
_installed = False


class _QuietEvaluate(dspy.Evaluate):
    def __init__(self, *args, **kwargs):
        kwargs["display_progress"] = False
        super().__init__(*args, **kwargs)


# dspy 3.4.1 GroundedProposer hands `max_depth` and `previous_instructions` to signatures without them.
_PROPOSER_SLIP = re.compile(
    r"Input contains fields not in signature\. These fields will be ignored: "
    r"\[(?:'(?:max_depth|previous_instructions)'(?:, )?)+\]\."
)


def progress_bars_wanted() -> bool:
    return os.environ.get("FLYWHEEL_DSPY_PROGRESS", "") == "1" or flywheel_verbose()


def _not_the_proposer_slip(record: logging.LogRecord) -> bool:
    return not _PROPOSER_SLIP.match(record.getMessage())


def quiet_progress_bars() -> None:
    """Switch the bars off for the rest of the process (idempotent, thread-safe)."""
    global _installed
    if progress_bars_wanted():
        return
    with _lock:
        if _installed:
            return
        # On the logger itself: a filter sees only the records logged there, not those passed up to "dspy".
        logging.getLogger("dspy.predict.predict").addFilter(_not_the_proposer_slip)
        import gepa
        from dspy.teleprompt import bootstrap_trace

        bootstrap_trace.Evaluate = _QuietEvaluate
        original = gepa.optimize  # dspy.GEPA.compile imports it from the package at each call

        @functools.wraps(original)
        def optimize(*args, **kwargs):
            kwargs["display_progress_bar"] = False
            return original(*args, **kwargs)

        gepa.optimize = optimize
        _installed = True
