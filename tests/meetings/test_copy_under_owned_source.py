"""An identical copy of an event already taken in is a duplicate by either route, even from a sender that may not
use its source (CONTRACT.md "Idempotency": the same (`source`, `id`) delivered again, "by either route, changes
nothing and is acknowledged as a duplicate"). A trial's event accepted over HTTP from the scoped account its source
is registered to was sent again, unchanged, over AMQP: it was refused `source_of_another_account` and opened a
rejection of an event already in. A copy takes no id, so only a sender's *new* event (or another event under the
same id) under a source it may not use is refused naming `source`, the owner's inbox row kept. Real PostgreSQL; the
trial's AMQP copy over the real broker, meetings in-process."""

import json
import logging
from typing import Any

import aio_pika
import pytest

from services.meetings import handlers
from services.meetings.config import Settings
from services.meetings.context import meetings_context
from services.meetings.handlers.ingest import REGISTERED_SOURCE
from services.meetings.rpc import sync_registered_sources
from shared.contracts import meetings_rpc as contract
from shared.envelope import BATCH_CONTENT_TYPE, CLOUDEVENT_CONTENT_TYPE
from shared.topology import INGEST_EXCHANGE
from tests.meetings import events as ev
from tests.meetings.test_scoping import rpc_methods
from tests.support.ids import random_id
from tests.support.logs import route_logs_to_stdlib, structured_logs
from tests.support.running import eventually


@pytest.fixture
async def owned(meetings_pool: Any) -> dict[str, Any]:
    """A commune, a cell under it, and a source registered to the commune's scoped integration account."""
    methods = rpc_methods(meetings_pool)
    commune, cell = random_id("xa"), random_id("cell")
    reply = await methods["ingest"](
        events=[ev.unit(commune, kind="committee", name="Đảng ủy xã"), ev.unit(cell, parent_id=commune)],
        route="amqp",
    )
    assert [result["outcome"] for result in reply["results"]] == ["accepted", "accepted"]
    source = f"urn:test:{random_id('cell-feed')}"
    await sync_registered_sources(
        contract.SyncSources(accounts=[contract.SourceRegistration(unit_id=commune, sources=[source])]),
        meetings_context(Settings(), meetings_pool),
    )
    return {"commune": commune, "cell": cell, "source": source, "methods": methods}


async def by_owner(owned: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """`event` over HTTP from the scoped account the source is registered to: its one result."""
    reply = await owned["methods"]["ingest"](
        events=[event], route="http", account="cell-feed", scope=owned["commune"], sources=[owned["source"]]
    )
    [result] = reply["results"]
    return result


async def by_others(owned: dict[str, Any], uow_factory: Any, event: dict[str, Any]) -> list[tuple[str, str | None]]:
    """`event` from every sender that may not use its source, as (outcome, refusal code) each: an AMQP message
    alone and in a batch, and a province-wide API account alone."""
    said: list[tuple[str, str | None]] = []
    body = json.dumps(event).encode()
    for batch in (False, True):
        [result] = await handlers.ingest_delivery(
            json.dumps([event]).encode() if batch else body,
            uow_factory,
            batch=batch,
            route="amqp",
            content_type=BATCH_CONTENT_TYPE if batch else CLOUDEVENT_CONTENT_TYPE,
            routing_key="batch" if batch else event["type"],
        )
        said.append((result.outcome, result.refusal.code if result.refusal else None))
    [result] = (await owned["methods"]["ingest"](events=[event], route="http", account="province"))["results"]
    said.append((result["outcome"], (result.get("refusal") or {}).get("code")))
    return said


async def open_rejections(db: Any, event: dict[str, Any]) -> int:
    """How many open rejections name the event's (source, id)."""
    return int(
        await db.fetchval(
            "SELECT count(*) FROM meetings.rejection WHERE source = $1 AND event_id = $2 AND status = 'open'",
            event["source"],
            event["id"],
        )
    )


@pytest.mark.parametrize("owner_first", [True, False], ids=["owner-first", "others-first"])
async def test_an_identical_copy_is_a_duplicate_whoever_sends_it(
    owned: dict[str, Any], uow_factory: Any, db: Any, owner_first: bool
) -> None:
    event = ev.member(random_id("mem"), owned["cell"], source=owned["source"])
    refused = ("rejected", "source_of_another_account")
    if not owner_first:  # nothing taken in yet: the others' copy is theirs, under a source they may not use
        assert await by_others(owned, uow_factory, event) == [refused] * 3
        assert await open_rejections(db, event) == 1
    assert (await by_owner(owned, event))["outcome"] == "accepted"
    assert await open_rejections(db, event) == 0  # the event taken in closes its rejection, as any copy's
    assert await by_others(owned, uow_factory, event) == [("duplicate", None)] * 3
    assert await open_rejections(db, event) == 0
    assert (await by_owner(owned, event))["outcome"] == "duplicate"


async def test_another_event_under_the_id_is_still_refused_for_its_source(
    owned: dict[str, Any], uow_factory: Any, db: Any
) -> None:
    """Other content under the owner's (source, id) from a sender that may not use the source: refused naming
    `source` (not `id_reused`, which would say the id is taken), and the owner's inbox row is kept."""
    event = ev.member(random_id("mem"), owned["cell"], source=owned["source"])
    assert (await by_owner(owned, event))["outcome"] == "accepted"
    changed = {**event, "data": {**event["data"], "full_name": "Nguyễn Văn Khác"}}
    assert await by_others(owned, uow_factory, changed) == [("rejected", "source_of_another_account")] * 3
    [result] = await handlers.ingest_delivery(json.dumps(changed).encode(), uow_factory, batch=False, route="amqp")
    assert (result.outcome, result.field, result.reason) == ("rejected", "source", REGISTERED_SOURCE)
    assert (await by_owner(owned, event))["outcome"] == "duplicate"
    assert await open_rejections(db, event) == 1


async def test_the_trials_copy_over_the_broker_is_a_duplicate(
    owned: dict[str, Any], amqp_url: str, meetings_service: str, db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The trial's case: accepted over HTTP, the same event published on chibo.ingest, taken by the consumer."""
    route_logs_to_stdlib(caplog)
    caplog.set_level(logging.INFO)
    event = ev.member(random_id("mem"), owned["cell"], source=owned["source"])
    assert (await by_owner(owned, event))["outcome"] == "accepted"
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(INGEST_EXCHANGE, ensure=False)
        await exchange.publish(
            aio_pika.Message(
                json.dumps(event).encode(),
                content_type=CLOUDEVENT_CONTENT_TYPE,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=event["type"],
        )
    finally:
        await connection.close()

    def outcome() -> str | None:
        for line in structured_logs(caplog):
            if line.get("event_id") == event["id"] and line.get("route") == "amqp":
                if line["event"] in ("event_duplicate", "event_rejected", "event_accepted"):
                    return str(line["event"])
        return None

    assert await eventually(outcome) == "event_duplicate"
    assert await open_rejections(db, event) == 0
    assert await db.fetchval("SELECT count(*) FROM meetings.rejection WHERE event_id = $1", event["id"]) == 0
