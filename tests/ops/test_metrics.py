"""Every service answers /metrics, and feeding events moves the counters operators watch.

The four services run as processes (as after `make up`) on a fresh database and vhost; events
arrive over AMQP and over the gateway's HTTP route, and each service's exposition is read
before and after.
"""

import json
from collections.abc import Iterator

import aio_pika
import httpx
import pytest

from deploy.demo_access import seed_known
from services.gateway.config import GatewaySettings
from shared.topology import INGEST_EXCHANGE, declare_topology
from tests.ops.feed import Province
from tests.ops.scrape import names, sample_sum
from tests.support.env import fresh_database, isolated_vhost
from tests.support.running import eventually
from tests.support.system import RunningSystem, issue_token, running_system

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def system(
    infra: tuple[str, str], database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningSystem]:
    """The four services and the mail sink, started once for this module on a vhost and database of its own.

    Not the package's vhost: other modules' services leave messages there (a relay publishing rows of the
    shared database's outbox), and the overview test counts every dead letter in the vhost."""
    with (
        isolated_vhost(infra[0]) as amqp_url,
        fresh_database(database_url) as own_database,
        running_system(
            amqp_url=amqp_url,
            database_url=own_database,
            workdir=tmp_path_factory.mktemp("ops"),
            extra_env={"CHIBO_RELAY_POLL_SECONDS": "0.2", "CHIBO_DELIVERY_POLL_SECONDS": "0.2"},
        ) as s,
    ):
        yield s


async def scrape(client: httpx.AsyncClient, base: str) -> str:
    """One scrape of a service's /metrics, checked to be the Prometheus text format."""
    response = await client.get(base + "/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def publish(amqp_url: str, events: list[dict]) -> None:
    """Publish raw events to chibo.ingest as an external system does (routing key = type)."""
    await declare_topology(amqp_url)
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(INGEST_EXCHANGE)
        for event in events:
            await exchange.publish(
                aio_pika.Message(
                    json.dumps(event).encode(),
                    content_type="application/cloudevents+json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=event["type"],
            )
    finally:
        await connection.close()


async def test_feeding_events_moves_every_services_counters(system: RunningSystem) -> None:
    amqp_url = system.env["CHIBO_AMQP_URL"]
    province = Province()
    urls = system.service_urls
    async with httpx.AsyncClient(timeout=15) as client:
        before = {name: await scrape(client, url) for name, url in urls.items()}

        await publish(amqp_url, [*province.facts(), province.invalid()])
        feed_source = "urn:test:ops-metrics-feed"  # its own: a scoped account's source is no one else's
        # the facts go over AMQP: meetings knows the committee once it has taken them in (issue-token checks --unit)
        env = system.env
        settings = GatewaySettings(database_url=env["CHIBO_DATABASE_URL"], amqp_url=env["CHIBO_AMQP_URL"])
        await seed_known(settings, {("committee_officer", province.committee, None)}, timeout=120)
        token = issue_token(
            system, role="integration", unit=province.committee, sub="ops-metrics-feed", sources=[feed_source]
        )
        answer = await client.post(
            system.gateway_url + "/v1/events",
            content=json.dumps({**province.meeting_scheduled(), "source": feed_source}),
            headers={"authorization": f"Bearer {token}", "content-type": "application/cloudevents+json"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"][0]["outcome"] == "accepted"

        async def delivered() -> str | None:
            text = await scrape(client, urls["notifications"])
            moved = sample_sum(
                text,
                "chibo_notification_deliveries_total",
                rule="meeting_scheduled",
                channel="email",
                outcome="delivered",
            )
            return text if moved >= 2 else None

        notifications = await eventually(delivered, timeout=90, interval=0.5)
        meetings = await scrape(client, urls["meetings"])
        evaluation = await eventually(
            lambda: _when(scrape(client, urls["evaluation"]), "chibo_scoring_duration_seconds_count"),
            timeout=60,
            interval=0.5,
        )
        gateway = await scrape(client, urls["gateway"])

    def moved(process: str, text: str, metric: str, **labels: str) -> float:
        return sample_sum(text, metric, **labels) - sample_sum(before[process], metric, **labels)

    # meetings: per-queue and per-type reception, judged outcomes, outbox, RPC, held events
    assert moved("meetings", meetings, "chibo_received_messages_total", handler="meetings.ingest") >= 5
    assert moved("meetings", meetings, "chibo_received_processed_messages_duration_seconds_count",
                 handler="meetings.ingest", type="member.upserted.v1") >= 2  # fmt: skip
    assert moved("meetings", meetings, "chibo_events_consumed_total", queue="meetings.ingest", outcome="handled") >= 5
    # facts on chibo.ingest are applied concurrently (issue 12), so a member may come before its cell and be
    # held first (released when the cell arrives): every valid fact is accepted or held, none rejected
    assert (
        sum(
            moved("meetings", meetings, "chibo_ingest_events_total", route="amqp", outcome=outcome)
            for outcome in ("accepted", "held")
        )
        >= 4
    )
    assert (
        moved("meetings", meetings, "chibo_ingest_events_total", type="meeting.scheduled.v1", outcome="rejected") == 1
    )
    assert moved("meetings", meetings, "chibo_ingest_events_total", route="http", outcome="accepted") == 1
    assert moved("meetings", meetings, "chibo_outbox_published_total", service="meetings") >= 5
    assert (
        moved("meetings", meetings, "chibo_rpc_server_duration_seconds_count", method="ingest_body", outcome="ok") >= 1
    )
    gauges = {"chibo_outbox_pending_rows", "chibo_outbox_oldest_pending_age_seconds", "chibo_outbox_parked_rows"}
    gauges |= {"chibo_held_events", "chibo_rejections_open", "chibo_queue_messages", "chibo_queue_consumers"}
    assert gauges <= names(meetings)
    assert sample_sum(meetings, "chibo_queue_consumers", queue="meetings.ingest") >= 1
    assert sample_sum(meetings, "chibo_queue_messages", queue="meetings.ingest.dlq") == 0
    assert sample_sum(meetings, "chibo_rejections_open") >= 1
    # meetings' own state, exported by meetings alone: no 0 elsewhere for a dashboard to sum or read instead
    owned = {"chibo_held_events", "chibo_held_oldest_age_seconds", "chibo_rejections_open"}
    assert not any(owned & names(text) for text in (evaluation, notifications, gateway))
    assert not any("chibo_scoring_backlog_cells" in names(text) for text in (meetings, notifications, gateway))

    # evaluation: facts consumed per type, scoring timed, jobs reported
    assert (
        moved("evaluation", evaluation, "chibo_events_consumed_total", queue="evaluation.facts", outcome="handled") >= 5
    )
    assert moved("evaluation", evaluation, "chibo_scoring_duration_seconds_count") >= 1
    assert "chibo_job_progress_ratio" in names(evaluation) and "chibo_outbox_pending_rows" in names(evaluation)

    # notifications: events consumed, deliveries by rule, channel and outcome
    assert (
        moved("notifications", notifications, "chibo_events_consumed_total", queue="notifications.events",
              type="meeting.scheduled.v1", outcome="handled") == 1
    )  # fmt: skip
    assert sample_sum(notifications, "chibo_queue_consumers", queue="notifications.events") >= 1

    # gateway: requests by route template and status, RPC latency by service and method
    assert moved("gateway", gateway, "chibo_http_requests_total", method="POST", route="/v1/events", status="200") == 1
    assert (
        moved("gateway", gateway, "chibo_rpc_client_duration_seconds_count", service="meetings", method="ingest_body",
              outcome="ok") == 1
    )  # fmt: skip
    assert not any('route="/v1/events/' in line for line in gateway.splitlines())


async def _when(pending, name: str) -> str | None:  # type: ignore[no-untyped-def]
    text = await pending
    return text if sample_sum(text, name) > 0 else None


async def test_the_operator_overview_shows_services_queues_outboxes_and_rejections(system: RunningSystem) -> None:
    token = issue_token(system, role="operator", unit=None, sub="ops-overview-reader")
    # a role that may not read it (province-wide: issue-token refuses a unit the system does not have)
    feed = issue_token(system, role="integration", unit=None, sub="ops-no", province_wide=True)
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await client.get(
            system.gateway_url + "/v1/operations/overview", headers={"authorization": f"Bearer {token}"}
        )
        forbidden = await client.get(
            system.gateway_url + "/v1/operations/overview",
            headers={"authorization": f"Bearer {feed}"},
        )
        health = await client.get(
            system.gateway_url + "/v1/system/health", headers={"authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 200, answer.text
    overview = answer.json()
    assert set(overview["services"]) == {"meetings", "evaluation", "notifications"}
    queues = {queue["name"]: queue for queue in overview["services"]["meetings"]["queues"]}
    assert queues["meetings.ingest"]["consumers"] >= 1 and queues["meetings.rpc"]["consumers"] >= 1
    assert overview["services"]["evaluation"]["outbox"]["parked"] == 0
    assert overview["services"]["notifications"]["dead_letters"] == {"notifications.events.dlq": 0}
    assert overview["dead_letters_total"] == 0 and overview["parked_rows_total"] == 0
    assert overview["open_rejections"] >= 1  # the invalid meeting fed by the test above
    assert overview["held_events"] == 0 and overview["failed_deliveries"] == 0
    assert health.json()["dead_letters_total"] == 0
    assert forbidden.status_code == 403
