"""Use cases of the meetings service: ingest, holds, rejections and replays."""

from services.meetings.handlers.frameworks import FRAMEWORK_HANDLERS
from services.meetings.handlers.grouped import ingest_singles, single_event
from services.meetings.handlers.holds import HeldNotFound, drop_held, retry_held
from services.meetings.handlers.ingest import (
    INBOX,
    SOURCE,
    IngestResult,
    RejectionNotFound,
    RejectionResolved,
    RejectionUnreplayable,
    Sources,
    dismiss_rejection,
    dry_run,
    expire_holds,
    ingest_batch,
    ingest_delivery,
    ingest_event,
    reject_cut_body,
    replay_rejection,
    settle_released,
    settle_released_safely,
    sweep_released,
    with_retries,
)

__all__ = [
    "FRAMEWORK_HANDLERS",
    "INBOX",
    "HeldNotFound",
    "drop_held",
    "retry_held",
    "SOURCE",
    "IngestResult",
    "RejectionNotFound",
    "RejectionResolved",
    "RejectionUnreplayable",
    "Sources",
    "dismiss_rejection",
    "dry_run",
    "expire_holds",
    "ingest_batch",
    "ingest_delivery",
    "ingest_event",
    "ingest_singles",
    "single_event",
    "reject_cut_body",
    "replay_rejection",
    "settle_released",
    "settle_released_safely",
    "sweep_released",
    "with_retries",
]
