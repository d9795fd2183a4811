"""One ingested event, or one HTTP request, is one trace through meetings, evaluation and notifications.

The three services run in this process with an in-memory span exporter; an external system
publishes one event to chibo.ingest without any trace context. Meetings opens the trace, the
outbox row keeps its context, and evaluation's and notifications' consumer spans join it.
"""

import json
import secrets
from collections.abc import AsyncIterator, Iterator

import aio_pika
import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.evaluation.bootstrap import create_app as evaluation_app
from services.evaluation.config import Settings as EvaluationSettings
from services.gateway.auth import Role
from services.gateway.config import GatewaySettings
from services.gateway.handlers import create_account
from services.gateway.main import create_app
from services.meetings.bootstrap import create_app as meetings_app
from services.meetings.config import Settings as MeetingsSettings
from services.notifications.bootstrap import build_app as notifications_app
from services.notifications.config import Settings as NotificationsSettings
from shared.topology import INGEST_EXCHANGE, declare_topology
from tests.ops.feed import Province
from tests.support.env import fresh_database, isolated_vhost
from tests.support.running import eventually, free_port, running_app

pytestmark = pytest.mark.integration

SERVICE_SPANS = {
    "meetings": "meetings.ingest process",
    "evaluation": "evaluation.facts process",
    "notifications": "notifications.events process",
}


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    """An in-memory exporter on the process's tracer provider (installed here when none is)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
        provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider), "another tracer provider was installed first"
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return memory


@pytest.fixture(scope="module")
def own_infra(infra: tuple[str, str]) -> Iterator[tuple[str, str]]:
    """A vhost and a database of this module's own: no other consumer competes for its queues."""
    with isolated_vhost(infra[0]) as amqp, fresh_database(infra[1]) as database:
        yield amqp, database


@pytest.fixture(scope="module")
async def services(own_infra: tuple[str, str], exporter: InMemorySpanExporter) -> AsyncIterator[str]:
    """Meetings, evaluation and notifications serving in this process; yields the AMQP URL."""
    amqp, database = own_infra
    meetings = meetings_app(
        MeetingsSettings(amqp_url=amqp, database_url=database, relay_poll_seconds=0.2, http_port=free_port())
    )
    evaluation = evaluation_app(
        EvaluationSettings(amqp_url=amqp, database_url=database, relay_poll_seconds=0.2, http_port=free_port())
    )
    notifications = notifications_app(
        NotificationsSettings(
            amqp_url=amqp, database_url=database, relay_poll_seconds=0.2, http_port=free_port(), smtp_port=free_port()
        )
    )
    async with running_app(meetings), running_app(evaluation), running_app(notifications):
        yield amqp


def _spans_of_trace(exporter: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.context and span.context.trace_id == trace_id]


async def test_one_ingested_event_is_one_trace_with_a_span_per_service(
    services: str, exporter: InMemorySpanExporter
) -> None:
    province = Province()
    unit = province.facts()[0]
    await declare_topology(services)
    connection = await aio_pika.connect(services)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(INGEST_EXCHANGE)
        await exchange.publish(
            aio_pika.Message(
                json.dumps(unit).encode(), content_type="application/cloudevents+json", message_id=unit["id"]
            ),
            routing_key=unit["type"],
        )
    finally:
        await connection.close()

    def ingest_span() -> ReadableSpan | None:
        for span in exporter.get_finished_spans():
            if (
                span.name == SERVICE_SPANS["meetings"]
                and (span.attributes or {}).get("messaging.message.id") == unit["id"]
            ):
                return span
        return None

    root = await eventually(ingest_span, timeout=30)
    assert root.context is not None
    trace_id = root.context.trace_id

    def per_service() -> dict[str, int] | None:
        names = [span.name for span in _spans_of_trace(exporter, trace_id)]
        counts = {service: names.count(name) for service, name in SERVICE_SPANS.items()}
        return counts if all(counts.values()) else None

    counts = await eventually(per_service, timeout=30)
    assert counts == {"meetings": 1, "evaluation": 1, "notifications": 1}
    spans = _spans_of_trace(exporter, trace_id)
    consumers = {span.name: span for span in spans if span.name in SERVICE_SPANS.values()}
    # the downstream consumers continue meetings' trace: their parent chain leads into it, not to a new root
    for name in (SERVICE_SPANS["evaluation"], SERVICE_SPANS["notifications"]):
        parent = consumers[name].parent
        assert parent is not None and parent.trace_id == trace_id


@pytest.fixture(scope="module")
async def gateway(own_infra: tuple[str, str], services: str) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """The gateway app in its lifespan on the module's vhost; yields a client and an integration token."""
    amqp, database = own_infra
    settings = GatewaySettings(
        amqp_url=amqp, database_url=database, jwt_secret=secrets.token_urlsafe(32), service_health_urls={}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        state = app.state.gateway
        _, token = await create_account(
            state.accounts,
            secret=state.secret,
            issuer=settings.jwt_issuer,
            sub="trace-feed",
            role=Role.INTEGRATION,
            unit_id=None,
            person_id=None,
            days=1,
            max_days=30,
            province_wide=True,
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=30) as client:
            yield client, token


async def test_one_http_request_is_one_trace_through_the_gateway_and_every_service(
    gateway: tuple[httpx.AsyncClient, str], exporter: InMemorySpanExporter
) -> None:
    client, token = gateway
    unit = Province().facts()[0]
    answer = await client.post(
        "/v1/events",
        content=json.dumps(unit),
        headers={"authorization": f"Bearer {token}", "content-type": "application/cloudevents+json"},
    )
    assert answer.status_code == 200 and answer.json()["results"][0]["outcome"] == "accepted", answer.text

    def server_span() -> ReadableSpan | None:
        spans = [s for s in exporter.get_finished_spans() if s.kind == trace.SpanKind.SERVER and s.parent is None]
        return next((s for s in reversed(spans) if "/v1/events" in s.name), None)

    root = await eventually(server_span, timeout=30)
    assert root.context is not None
    trace_id = root.context.trace_id
    expected = ["meetings.rpc process", SERVICE_SPANS["evaluation"], SERVICE_SPANS["notifications"]]

    def joined() -> list[int] | None:
        names = [span.name for span in _spans_of_trace(exporter, trace_id)]
        counts = [names.count(name) for name in expected]
        return counts if all(counts) else None

    assert await eventually(joined, timeout=30) == [1, 1, 1]
