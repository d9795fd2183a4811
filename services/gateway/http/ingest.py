"""POST /v1/events: the HTTP route in of CONTRACT.md."""

from collections import Counter
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Query, Request

from services.gateway.auth import Role
from services.gateway.handlers import ingest_events
from services.gateway.http.deps import Caller, RoleCheck, State
from services.gateway.http.errors import COMMON_ERRORS, WRITE_ERRORS, _describe
from services.gateway.http.observability import adopt_correlation_id, correlation_id_of
from services.gateway.http.routing import ApiRoute
from services.gateway.limits import body_cut
from services.gateway.schemas import IngestOutcomeRead, IngestRead
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
) -> IngestRead:
    """Forward the events to meetings; answer each one's outcome (accepted, duplicate, held, rejected)."""
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
    )
    # the events' own correlation id, when they all name one, follows the request from here (operations.md): meetings
    # found it in its one reading of the body, which the gateway does not parse itself
    if own is not None:
        adopt_correlation_id(request, own)
    with structlog.contextvars.bound_contextvars(correlation_id=own or correlation_id):
        outcomes = [IngestOutcomeRead.model_validate(result) for result in results]
        counts = Counter(outcome.outcome for outcome in outcomes)
        log.info(
            "events_forwarded",
            events=len(outcomes),
            event_ids=[outcome.id for outcome in outcomes],
            outcomes=dict(counts),
            dry_run=dry_run,
        )
    request.state.audit_detail = {"events": len(outcomes), "dry_run": dry_run, **counts}
    return IngestRead(
        dry_run=dry_run,
        results=outcomes,
        accepted=counts["accepted"],
        duplicate=counts["duplicate"],
        held=counts["held"],
        rejected=counts["rejected"],
        not_judged=counts["not_judged"],
    )
