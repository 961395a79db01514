"""The simulated ("sim/…") models: their names, descriptions and judge profiles.

Every sim model is a deterministic, offline simulator. Callers show `SIM_MODELS[name]` wherever a sim
model appears so nobody mistakes its figures for a real LLM's.
"""

from __future__ import annotations

from dataclasses import dataclass

SIM_PREFIX = "sim/"


@dataclass(frozen=True)
class JudgeProfile:
    """How a simulated judge errs. Each flaw is switched off by instruction text that addresses it
    (see `judging.sim.judge.CORRECTIONS`)."""

    name: str
    # Share of outputs that do not parse to a score on the scale, without / with a format instruction.
    malformed_rate: float
    malformed_rate_corrected: float
    # 0..1: how far a keyword-stuffed document is pushed towards the top of the scale (0 = not at all).
    stuffing_strength: float
    # Partially relevant documents get roughly half the credit they deserve.
    misses_partial: bool
    # Long documents (150+ words) get one point extra.
    lenient_on_long: bool
    # Share of scores moved one point up or down at random (deterministically).
    noise_rate: float


JUDGE_PROFILES: dict[str, JudgeProfile] = {
    "sim/judge-small": JudgeProfile(
        name="sim/judge-small",
        malformed_rate=0.25,
        malformed_rate_corrected=0.04,
        stuffing_strength=1.0,
        misses_partial=True,
        lenient_on_long=True,
        noise_rate=0.12,
    ),
    "sim/judge-large": JudgeProfile(
        name="sim/judge-large",
        malformed_rate=0.02,
        malformed_rate_corrected=0.005,
        stuffing_strength=0.6,
        misses_partial=False,
        lenient_on_long=False,
        noise_rate=0.05,
    ),
}

REFLECTOR = "sim/reflector"

SIM_MODELS: dict[str, str] = {
    "sim/judge-small": (
        "Simulator (offline, deterministic): a flawed small judge. Scores from query-term overlap; rewards "
        "keyword stuffing, under-scores partial answers, is lenient on long documents, and ~25% of its "
        "outputs are malformed (missing score, 'four', off-scale)."
    ),
    "sim/judge-large": (
        "Simulator (offline, deterministic): a stronger judge. Scores from query-term overlap; somewhat "
        "lenient on keyword stuffing; ~2% malformed outputs."
    ),
    REFLECTOR: (
        "Simulator (offline, deterministic): a reflection/proposal model. Turns judge feedback into general "
        "instruction lines; about one proposal in four copies an 8-word phrase from an example document."
    ),
}


def canonical_model(model: str) -> str:
    """'sim/judge-small', 'judge-small', 'openai/sim/judge-small' -> 'sim/judge-small'.

    Raises ValueError for a name that is not a sim model."""
    name = (model or "").strip()
    if name.startswith("openai/"):
        name = name[len("openai/") :]
    if not name.startswith(SIM_PREFIX):
        name = SIM_PREFIX + name
    if name not in SIM_MODELS:
        raise ValueError(f"Unknown sim model {model!r}; known: {', '.join(SIM_MODELS)}")
    return name


def is_sim_model(model: str) -> bool:
    """True for a model string that names a simulator ('sim/…', also behind an 'openai/' prefix)."""
    name = (model or "").strip()
    if name.startswith("openai/"):
        name = name[len("openai/") :]
    return name.startswith(SIM_PREFIX) and name in SIM_MODELS
