"""The evaluation service's repositories: facts, results, frameworks."""

from services.evaluation.repository.facts import Adoption, FactRepository, FactStamp, MeetingRow, PgFactRepository
from services.evaluation.repository.frameworks import FrameworkRepository, PgFrameworkRepository
from services.evaluation.repository.jobs import DirtyRow, JobRepository, PeriodClose, PgJobRepository
from services.evaluation.repository.results import (
    CellExistence,
    PgResultRepository,
    Recheck,
    ResultRepository,
    ScoreRow,
    ScoringInputs,
)

__all__ = [
    "Adoption",
    "CellExistence",
    "DirtyRow",
    "FactRepository",
    "FactStamp",
    "FrameworkRepository",
    "JobRepository",
    "MeetingRow",
    "PgFactRepository",
    "PeriodClose",
    "PgFrameworkRepository",
    "PgJobRepository",
    "PgResultRepository",
    "Recheck",
    "ResultRepository",
    "ScoreRow",
    "ScoringInputs",
]
