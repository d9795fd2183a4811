"""GET /health: the gateway's liveness and which services have a consumer on their RPC queue."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.gateway.http.deps import State
from services.gateway.http.routing import ProbeRoute
from services.gateway.schemas import HealthRead
from shared.outages import broker_refusal
from shared.rpc import rpc_consumers
from shared.topology import RPC_SERVICES

router = APIRouter(tags=["health"], route_class=ProbeRoute)


@router.get("/health", response_model=HealthRead, responses={503: {"model": HealthRead}})
async def health(state: State) -> JSONResponse:
    """200 when the gateway reaches its database and the broker; `services` says who answers RPC: `answering` (a
    consumer on `<service>.rpc` and a process that reported within CHIBO_INSTANCE_WINDOW_SECONDS, not frozen),
    `not answering` (a consumer, but no such process: hung, frozen or gone), `no consumer`, `no queue`; `status`
    is `degraded` when any of them is not `answering` (still 200: the gateway serves what needs none of them)."""
    report = {"service": "gateway", "database": "ok", "broker": "ok", "services": {}}
    services: dict[str, str] = {}
    try:
        async with state.pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1")
    except Exception as exc:
        report["database"] = f"down: {exc!r}"
    if not await state.broker.ping(timeout=2):
        refusal = await broker_refusal(state.settings.amqp_url)
        report["broker"] = f"down: {refusal}" if refusal else "down"
    else:
        connection = await state.broker.connect()  # the broker's own connection: no second login per probe
        # a consumer on the RPC queue is not an answer: a frozen or hung process keeps its consumer. A service whose
        # processes send heartbeats answers when one reported within the window and is not frozen (shared.instances)
        await state.instances.check_local(timeout=min(1.0, state.settings.health_timeout))
        for service in RPC_SERVICES:
            consumers = await rpc_consumers(connection, service)
            if consumers is None:
                services[service] = "no queue"
            elif not consumers:
                services[service] = "no consumer"
            else:
                services[service] = "not answering" if state.instances.answering(service) is False else "answering"
        report["services"] = services
    healthy = report["database"] == "ok" and report["broker"] == "ok"
    # a service it depends on that answers no RPC makes it degraded, as it then is for what needs that service
    # (`make status` printed "status":"ok" beside "meetings":"no consumer"); still ready (200): it serves the rest
    served = all(said == "answering" for said in services.values())
    report["status"] = "ok" if healthy and served else "degraded"
    body = HealthRead.model_validate(report)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)
