"""POST /v1/events: the HTTP route in of CONTRACT.md."""

from collections import Counter

from fastapi import APIRouter, Request

from services.gateway.auth import Role
from services.gateway.handlers import ingest_events, require_role
from services.gateway.http.deps import Caller, State
from services.gateway.http.errors import COMMON_ERRORS, WRITE_ERRORS, _describe
from services.gateway.schemas import CloudEventCreate, IngestOutcomeRead, IngestRead
from shared.envelope import BATCH_CONTENT_TYPE, CLOUDEVENT_CONTENT_TYPE, MAX_BATCH_SIZE
from shared.logs import get_logger

log = get_logger(__name__)

router = APIRouter(prefix="/v1", tags=["ingestion"], responses={**COMMON_ERRORS, **WRITE_ERRORS})

_event_schema = CloudEventCreate.model_json_schema()
_BODY = {
    "requestBody": {
        "required": True,
        "description": "One CloudEvent, or a batch of up to 1,000 as a JSON array",
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
    responses={415: _describe("Neither a CloudEvent nor a batch content type")},
)
async def post_events(request: Request, caller: Caller, state: State) -> IngestRead:
    """Forward the events to meetings; answer each one's outcome (accepted, duplicate, held, rejected)."""
    require_role(caller, {Role.INTEGRATION}, "ingest events")
    results = await ingest_events(
        await request.body(),
        request.headers.get("content-type"),
        principal=caller,
        rpc=state.rpc,
        timeout=state.settings.ingest_timeout,
        headers=request.headers.items(),
    )
    outcomes = [IngestOutcomeRead.model_validate(result) for result in results]
    counts = Counter(outcome.outcome for outcome in outcomes)
    request.state.audit_detail = {"events": len(outcomes), **counts}
    log.info(
        "events_forwarded",
        events=len(outcomes),
        event_ids=[outcome.id for outcome in outcomes],
        outcomes=dict(counts),
    )
    return IngestRead(
        results=outcomes,
        accepted=counts["accepted"],
        duplicate=counts["duplicate"],
        held=counts["held"],
        rejected=counts["rejected"],
    )
