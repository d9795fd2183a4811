"""The answer to ingested events, the same on both routes: POST /v1/events' body, and the direct reply-to reply of a
chibo.ingest message that asks for one (docs/integrations.md "Outcomes over AMQP")."""

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from shared.contracts.ingest import IngestWarning
from shared.contracts.meetings_rpc import IngestResultReply


class IngestOutcomeRead(BaseModel):
    """What happened to one event of the body."""

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="before")
    @classmethod
    def _code_of_refusal(cls, value: Any) -> Any:
        """meetings' `refusal` ({"code", ...}) answered as `reason_code`, as error answers carry it."""
        if isinstance(value, dict) and isinstance(value.get("refusal"), dict) and "reason_code" not in value:
            value = {**value, "reason_code": value["refusal"].get("code")}
        return value

    index: int
    id: str | None = None
    source: str | None = None
    type: str | None = None
    outcome: Literal["accepted", "duplicate", "held", "rejected"]
    reason: str | None = None
    field: str | None = None
    waiting_for: str | None = None
    """For a held event, what it waits for (`unit:<id>`, `member:<id>`, `meeting:<id>`, `minutes:<m>`, ...)."""
    reason_code: str | None = None
    """A rejection's or hold's machine-readable reason when the rule gives one (`id_reused`, `born_after_event`,
    ...: shared/refusals.py): match on it, not on `reason`, whose English may change."""
    ignored_fields: list[str] | None = None
    """Keys of the event's data that no field of its type reads (`data.committe_prepared`, a misspelling?): the
    event was taken without them. Absent when there are none."""
    warnings: list[IngestWarning] | None = None
    """What an accepted event lacks though valid: `roster_incomplete` naming `data.records`, the members of the cell
    at the meeting's start an attendance.recorded.v1 leaves out (`member_ids`, the first `member_names`, `missing`);
    also published as ingest.warned.v1. Absent when there is none."""


class IngestRead(BaseModel):
    """Each event's outcome, in the body's order, and the counts."""

    results: list[IngestOutcomeRead]
    accepted: int
    duplicate: int
    held: int
    rejected: int
    dry_run: bool = False
    """True when nothing was kept (POST /v1/events?dry_run=true)."""


def as_replied(results: Sequence[IngestResultReply | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Judged results as meetings' RPC reply carries them to the gateway (IngestResultReply, only the keys given):
    IngestResult.as_dict forms read as the gateway reads them, so both routes answer from the same values."""
    return [IngestResultReply.model_validate(result).model_dump(mode="json", exclude_unset=True) for result in results]


def ingest_read(outcomes: Sequence[IngestOutcomeRead | Mapping[str, Any]], *, dry_run: bool = False) -> IngestRead:
    """The answer listing judged events' outcomes (meetings' IngestResult.as_dict forms, whose `reason` is the
    sender's wording, never the operator's `detail`), in order, with the count of each outcome."""
    read = [IngestOutcomeRead.model_validate(outcome) for outcome in outcomes]
    counts = Counter(outcome.outcome for outcome in read)
    return IngestRead(
        dry_run=dry_run,
        results=read,
        accepted=counts["accepted"],
        duplicate=counts["duplicate"],
        held=counts["held"],
        rejected=counts["rejected"],
    )


BODY_PROBLEM_STATUS = {
    "syntax": (400, "bad_request"),
    "shape": (422, "invalid"),
    "too_large": (413, "payload_too_large"),
    "neither_mode": (415, "unsupported_media_type"),
    "header": (422, "invalid"),
}
"""The HTTP answer to a body meetings could not read as an event or a batch (stored and published all the same)."""


class BodyProblem(BaseModel):
    """The answer to a body that is not an event or a batch at all: its HTTP status, and the error answer's fields
    (`code`, the English `message`, the `field`: `body` unless a header or attribute is named)."""

    status: int
    code: str
    message: str
    field: str


def body_problem(results: Sequence[Mapping[str, Any]]) -> BodyProblem | None:
    """The answer to a body meetings could not read as events (one result with a `problem`, IngestResult.as_dict);
    None when its events were judged one by one."""
    if len(results) != 1 or results[0].get("problem") not in BODY_PROBLEM_STATUS:
        return None
    status, code = BODY_PROBLEM_STATUS[results[0]["problem"]]
    return BodyProblem(
        status=status,
        code=code,
        message=results[0].get("reason") or "body: not an event",
        field=results[0].get("field") or "body",
    )


def error_answer(problem: BodyProblem) -> dict[str, Any]:
    """The JSON error answer of a body problem, as the gateway's error answers are written (ErrorRead)."""
    return {"code": problem.code, "message": problem.message, "field": problem.field, "service": None}


def ingest_answer(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The JSON body POST /v1/events answers for judged results (IngestResult.as_dict forms): the error answer of a
    body that is not events, else each event's outcome and the counts (IngestRead)."""
    replied = as_replied(results)
    problem = body_problem(replied)
    if problem is not None:
        return error_answer(problem)
    return ingest_read(replied).model_dump(mode="json")
