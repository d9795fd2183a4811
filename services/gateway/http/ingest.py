"""POST /v1/events: the HTTP route in of CONTRACT.md."""

from collections import Counter
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from services.gateway.auth import Role
from services.gateway.handlers import events_unjudged_message, ingest_events
from services.gateway.http.deps import Caller, RoleCheck, State
from services.gateway.http.errors import COMMON_ERRORS, WRITE_ERRORS, _describe
from services.gateway.http.observability import adopt_correlation_id, correlation_id_of
from services.gateway.http.routing import ApiRoute
from services.gateway.limits import body_cut
from services.gateway.schemas import (
    IngestCountsRead,
    IngestOutcomeRead,
    IngestRead,
    IngestUnfinishedRead,
    NotJudgedRead,
)
from shared.contracts.ingest_answer import ingest_read
from shared.contracts.meetings_rpc import NOT_JUDGED
from shared.contracts.schemas import ingest_types
from shared.envelope import BATCH_CONTENT_TYPE, CLOUDEVENT_CONTENT_TYPE, MAX_BATCH_SIZE
from shared.logs import get_logger

log = get_logger(__name__)

router = APIRouter(prefix="/v1", tags=["ingestion"], responses={**COMMON_ERRORS, **WRITE_ERRORS}, route_class=ApiRoute)
INGEST = RoleCheck({Role.INTEGRATION}, "ingest events")
"""Only integration accounts send events; checked before anything of the request is read."""

_event_schema = {"oneOf": [{"$ref": f"#/components/schemas/Event.{event_type}"} for event_type in ingest_types()]}
_BODY = {
    "requestBody": {
        "required": True,
        "description": (
            "Structured mode: one CloudEvent, or a batch of up to 1,000 as a JSON array (each event one of the "
            "`Event.<type>` schemas, also at /v1/schemas/{type}). Binary mode: the event's attributes as `ce-` "
            "headers (`ce-specversion`, `ce-id`, `ce-source`, `ce-type`, `ce-time`, optional `ce-subject` and "
            "extensions, values percent-encoded as the HTTP binding writes them), the body its `data` and "
            "`Content-Type` its `datacontenttype` (`application/json`; a `ce-datacontenttype` header is refused, "
            "naming `datacontenttype`)."
        ),
        "content": {
            CLOUDEVENT_CONTENT_TYPE: {"schema": _event_schema},
            BATCH_CONTENT_TYPE: {
                "schema": {"type": "array", "items": _event_schema, "minItems": 1, "maxItems": MAX_BATCH_SIZE}
            },
        },
    }
}


@router.post(
    "/events",
    response_model=IngestRead,
    summary="Ingest one event or a batch",
    openapi_extra=_BODY,
    dependencies=[Depends(INGEST)],
    responses={
        413: _describe(
            "A body over CHIBO_MAX_BODY_BYTES, a batch of more than 1,000 events or an event over 1 MiB; stored and "
            "published as a rejection naming `body` all the same (of a body over the limit only its beginning and "
            "size are kept)"
        ),
        415: _describe("Neither mode: no CloudEvents content type and no ce- attribute header"),
        503: {
            "model": IngestUnfinishedRead,
            "description": (
                "meetings did not answer in time (`service` names it; nothing more is known), or it judged only some "
                "of the events before the answer was due: then `judged` lists their outcomes as the 200's `results` "
                "would, `not_judged` the events of which nothing was stored, `counts` both. See Retry-After; sending "
                "the whole body again is safe (the events judged are answered as docs/integrations.md "
                '"Idempotency" says: accepted ones `duplicate`)'
            ),
        },
    },
)
async def post_events(
    request: Request,
    caller: Caller,
    state: State,
    dry_run: Annotated[
        bool,
        Query(
            description=(
                "Judge the events exactly as they would be judged now (each seeing the ones before it) and answer "
                "their outcomes, but keep nothing: no state, no duplicate record, nothing held, stored or published"
            )
        ),
    ] = False,
) -> IngestRead | JSONResponse:
    """Forward the events to meetings; answer each one's outcome (accepted, duplicate, held, rejected), or 503 listing
    the outcomes of those judged when meetings had no time to judge them all (unfinished)."""
    INGEST.check(caller)
    body = await request.body()
    cut = body_cut(request.scope)  # known once the body was read up to the limit
    if cut is not None:
        request.state.audit_detail = {"over_limit": cut.limit, "declared_size": cut.declared, "dry_run": dry_run}
        log.warning("ingest_body_over_limit", limit=cut.limit, declared_size=cut.declared, sub=caller.sub)
    correlation_id = correlation_id_of(request)  # the request's; its events' own, when they name one, comes after
    results, own = await ingest_events(
        body,
        request.headers.get("content-type"),
        principal=caller,
        rpc=state.rpc,
        timeout=state.settings.ingest_timeout,
        headers=request.headers.items(),
        dry_run=dry_run,
        over_limit=cut.limit if cut is not None else None,
        declared_size=cut.declared if cut is not None else None,
        correlation_id=correlation_id,
        gone=state.directory.gone_now,
    )
    # the events' own correlation id, when they all name one, follows the request from here (operations.md): meetings
    # found it in its one reading of the body, which the gateway does not parse itself
    if own is not None:
        adopt_correlation_id(request, own)
    unjudged = [NotJudgedRead.model_validate(result) for result in results if result.get("outcome") == NOT_JUDGED]
    with structlog.contextvars.bound_contextvars(correlation_id=own or correlation_id):
        outcomes = [
            IngestOutcomeRead.model_validate(result) for result in results if result.get("outcome") != NOT_JUDGED
        ]
        counts: Counter[str] = Counter(outcome.outcome for outcome in outcomes)
        if unjudged:
            counts[NOT_JUDGED] = len(unjudged)
        log.info(
            "events_forwarded",
            events=len(results),
            event_ids=[outcome.id for outcome in outcomes],
            outcomes=dict(counts),
            dry_run=dry_run,
        )
        if unjudged:  # as meetings logs it (ingest_deadline_reached), counted there as outcome not_judged
            log.warning("events_not_judged", events=len(results), judged=len(outcomes), not_judged=len(unjudged))
    request.state.audit_detail = {"events": len(results), "dry_run": dry_run, **counts}
    if unjudged:  # CONTRACT.md's answer lists four outcomes: an event not judged makes the call a 503 (try again)
        return unfinished(outcomes, unjudged, counts)
    return ingest_read(outcomes, dry_run=dry_run)  # a chibo.ingest message's direct reply-to answer is this too


UNFINISHED_RETRY_AFTER = "5"
"""Seconds a sender is told to wait before sending a body again whose events meetings did not all judge in time (as
for any service's silence: errors._on_rpc_error)."""


def unfinished(judged: list[IngestOutcomeRead], unjudged: list[NotJudgedRead], counts: Counter[str]) -> JSONResponse:
    """POST /v1/events' 503 (IngestUnfinishedRead) of a call meetings did not finish judging before its answer was
    due: the judged events' outcomes as a 200 would list them, the others by index and identity, the counts, and
    Retry-After."""
    body = IngestUnfinishedRead(
        code="unavailable",
        message=events_unjudged_message(len(judged), len(unjudged)),
        service="meetings",
        judged=judged,
        not_judged=unjudged,
        counts=IngestCountsRead(
            accepted=counts["accepted"],
            duplicate=counts["duplicate"],
            held=counts["held"],
            rejected=counts["rejected"],
            not_judged=counts[NOT_JUDGED],
        ),
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=503, headers={"Retry-After": UNFINISHED_RETRY_AFTER})
