"""Use cases of the evaluation service: facts in, scores and periods recomputed, frameworks adopted."""

from services.evaluation.handlers.facts import FACT_HANDLERS
from services.evaluation.handlers.frameworks import adopt_framework, register_shipped, shipped_frameworks
from services.evaluation.handlers.rescoring import rescore
from services.evaluation.handlers.scores import refresh_periods, rescore_and_refresh, rescore_cell, score_touched

__all__ = [
    "FACT_HANDLERS",
    "adopt_framework",
    "refresh_periods",
    "register_shipped",
    "rescore",
    "rescore_and_refresh",
    "rescore_cell",
    "score_touched",
    "shipped_frameworks",
]
