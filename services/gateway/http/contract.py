"""GET /v1/schemas: the JSON Schema of every event type in, generated from the contract models, for partners to
check a feed before sending it (docs/integrations.md); the same schemas are components of the OpenAPI document."""

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path
from fastapi.responses import JSONResponse

from services.gateway.http.errors import _describe
from services.gateway.http.routing import ApiRoute
from services.gateway.schemas import EventSchemaIndexRead, EventSchemaRead
from shared.contracts.schemas import component_schemas, event_schema, ingest_types
from shared.rpc import RpcError

router = APIRouter(prefix="/v1", tags=["contract"], route_class=ApiRoute)
COMPONENT_PREFIX = "Event."
"""OpenAPI component name of a type in: `Event.<type>` (shared models `Event.<Model>`)."""
SCHEMA_MEDIA_TYPE = "application/schema+json"


@router.get(
    "/schemas",
    response_model=EventSchemaIndexRead,
    summary="The JSON Schemas of the event types in",
)
async def list_schemas() -> EventSchemaIndexRead:
    """Every type in, with its title and where its schema is; no token needed (the contract is public)."""
    items = []
    for event_type in ingest_types():
        schema = event_schema(event_type)
        items.append(
            EventSchemaRead(
                type=event_type,
                description=schema["description"],
                url=f"/v1/schemas/{event_type}",
                component=f"#/components/schemas/{COMPONENT_PREFIX}{event_type}",
            )
        )
    return EventSchemaIndexRead(items=items)


@router.get(
    "/schemas/{event_type}",
    summary="The JSON Schema of one event type in",
    response_class=JSONResponse,
    responses={
        200: {
            "description": "A JSON Schema (draft 2020-12) of one structured-mode event of the type",
            "content": {"application/json": {"schema": {"type": "object"}}, SCHEMA_MEDIA_TYPE: {}},
        },
        404: _describe("Not a type this system accepts"),
    },
)
async def get_schema(
    event_type: Annotated[str, Path(description="An event type in, e.g. member.upserted.v1", max_length=128)],
) -> JSONResponse:
    """The schema of a whole event of the type, envelope and data; 404 naming `event_type` when it is not a type in."""
    if event_type not in ingest_types():
        raise RpcError("not_found", f"event_type: {event_type!r} is not a type in", field="event_type")
    return JSONResponse(event_schema(event_type))


def install_event_schemas(app: FastAPI) -> None:
    """List every type in as a component of the OpenAPI document, and POST /v1/events' bodies as one of them."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = build()
        components = document.setdefault("components", {}).setdefault("schemas", {})
        components.update(
            component_schemas(ingest_types(), prefix=COMPONENT_PREFIX, ref_prefix="#/components/schemas/")
        )
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
