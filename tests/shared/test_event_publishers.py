"""A new-user trial: a broker admin (aio-pika as `guest`) published one `meeting.scheduled.v1` straight onto
chibo.events under `source: urn:chibo:meetings`, moving meeting `demo-cb-thon-2-2026-11` to `demo-cb-thon-1`;
evaluation and notifications applied it (the score moved to thôn 1) while meetings still said thôn 2, and a rescore
did not repair it. The consumers trusted the `source` text, not who published.

Here, as `make up` runs them (deploy/broker_users.sh: one broker user per process, in a vhost of this test's own),
evaluation and notifications run in this process with their own users; meetings' genuine relay (shared.outbox, as
meetings' broker user) publishes a meeting of thôn 2; `guest` (the vhost's admin) forges the move, with and without a
`user_id`, one event and a batch: both services dead-letter it naming `user_id` and the type, and the meeting stays
thôn 2's. A fact from the genuine publisher that contradicts the meeting's cell is refused too, naming
`data.cell_id`, while the genuine facts around it are applied.
"""

import asyncio
import json
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aio_pika
import asyncpg
import pytest

from services.evaluation.bootstrap import create_app
from services.evaluation.config import Settings as EvaluationSettings
from services.notifications.bootstrap import build_app
from services.notifications.config import Settings as NotificationsSettings
from shared.config import broker_user_of, publishers_by_owner
from shared.consuming import Origin, Publishers, check_unchanged, origin_of, publisher_refusal
from shared.contracts.meetings import MeetingScheduled, OrgUnitUpserted
from shared.db import apply_migrations, create_pool, migration_files
from shared.envelope import BATCH_CONTENT_TYPE, CLOUDEVENT_CONTENT_TYPE, new_event
from shared.ops.dead_letters import first_origin, replay_dead_letters
from shared.outbox import OutboxRelay, add_to_outbox
from shared.periods import VIETNAM_TZ
from shared.topology import EVALUATION_FACTS, EVENTS_EXCHANGE, NOTIFICATIONS_EVENTS
from tests.shared.test_broker_permissions import BrokerUsers, broker_users, credentials  # noqa: F401 (fixtures)
from tests.support.broker_users import SLOW
from tests.support.ids import random_id
from tests.support.running import eventually, free_port, running_app

PROBE = "probe"
AGENDA = ["Sinh hoạt thường kỳ"]
PROBE_DIR = Path(__file__).parent / "probe_service"
pytestmark = [pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs the broker's rabbitmqctl"), SLOW]


def scheduled(meeting_id: str, cell_id: str, *, day: int, event_id: str | None = None) -> Any:
    """meeting.scheduled.v1 as meetings publishes it, of a meeting on `day` November 2026 (begun: it is scored)."""
    starts = datetime(2026, 11, day, 19, 0, tzinfo=VIETNAM_TZ)
    return new_event(
        type="meeting.scheduled.v1",
        source="urn:chibo:meetings",
        event_id=event_id or str(uuid.uuid4()),
        time=starts.replace(day=day - 3),
        data=MeetingScheduled(
            meeting_id=meeting_id,
            cell_id=cell_id,
            kind="regular",
            starts_at=starts,
            location="Nhà văn hóa",
            agenda=["Sinh hoạt thường kỳ"],
        ),
    )


def in_vhost(url: str, vhost: str) -> str:
    """`url` (guest's) in the test's vhost."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + quote(vhost, safe="")))


@pytest.fixture(scope="module")
async def system(
    broker_users: BrokerUsers,  # noqa: F811
    credentials: dict[str, str],  # noqa: F811
    amqp_url: str,
    database_url: str,
) -> AsyncIterator[dict[str, Any]]:
    """Evaluation and notifications serving as their own broker users, meetings' relay as meetings' user."""
    evaluation = EvaluationSettings(
        amqp_url=credentials["evaluation"],
        database_url=database_url,
        system_publishers=[broker_user_of(amqp_url)],  # the broker admin, as make up exports it to every process
        http_port=free_port(),
        relay_poll_seconds=0.2,
        broker_user_prefix=broker_users.prefix,
        status_every_seconds=0,
    )
    notifications = NotificationsSettings(
        amqp_url=credentials["notifications"],
        database_url=database_url,
        system_publishers=[broker_user_of(amqp_url)],  # the broker admin, as make up exports it to every process
        http_port=free_port(),
        smtp_port=free_port(),  # nothing here mails: a meeting of a cell without members
        relay_poll_seconds=0.2,
        broker_user_prefix=broker_users.prefix,
        status_every_seconds=0,
    )
    await apply_migrations(database_url, schema=PROBE, files=migration_files(PROBE_DIR))
    pool = await create_pool(database_url, schema=PROBE)
    relay = OutboxRelay(pool=pool, schema=PROBE, amqp_url=credentials["meetings"], poll_seconds=0.2)
    relaying = asyncio.create_task(relay.run())
    try:
        async with running_app(create_app(evaluation)), running_app(build_app(notifications)):
            yield {
                "pool": pool,
                "admin": in_vhost(amqp_url, broker_users.vhost),
                "evaluation": credentials["evaluation"],
            }
    finally:
        relay.stop()
        relaying.cancel()
        await asyncio.gather(relaying, return_exceptions=True)
        await pool.close()


async def relayed(pool: asyncpg.Pool, *events: Any) -> None:
    """Publish `events` as meetings does: outbox rows its relay sends (one of a type alone, several as a batch)."""
    async with pool.acquire() as conn, conn.transaction():
        await add_to_outbox(conn, list(events), schema=PROBE)


async def forged(admin_url: str, events: list[Any], *, user_id: str | None, batch: bool) -> None:
    """Publish `events` straight onto chibo.events as the admin did, `user_id` set or not."""
    connection = await aio_pika.connect(admin_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        bodies = [json.loads(event.to_json()) for event in events]
        body = json.dumps(bodies if batch else bodies[0]).encode()
        await exchange.publish(
            aio_pika.Message(
                body, content_type=BATCH_CONTENT_TYPE if batch else CLOUDEVENT_CONTENT_TYPE, user_id=user_id
            ),
            routing_key=events[0].type,
        )
    finally:
        await connection.close()


async def dead_reasons(admin_url: str, queue: str, meeting_id: str) -> list[str]:
    """The `x-chibo-reason` of every dead letter in `queue` naming `meeting_id` (each given back to the queue)."""
    connection = await aio_pika.connect(admin_url)
    try:
        channel = await connection.channel()
        dlq = await channel.declare_queue(queue, passive=True)
        found: list[str] = []
        while (message := await dlq.get(no_ack=False, fail=False)) is not None:
            if meeting_id.encode() in bytes(message.body):
                found.append(str((message.headers or {}).get("x-chibo-reason")))
        return found  # unacknowledged: back in the queue when the channel closes
    finally:
        await connection.close()


async def cells_held(database_url: str, meeting_id: str) -> tuple[str | None, str | None, list[str]]:
    """The meeting's cell in evaluation and in notifications, and the cells its score is stored under."""
    db = await asyncpg.connect(database_url)
    try:
        evaluation = await db.fetchval("SELECT cell_id FROM evaluation.meeting WHERE meeting_id = $1", meeting_id)
        notified = await db.fetchval("SELECT cell_id FROM notifications.meeting WHERE meeting_id = $1", meeting_id)
        scores = await db.fetch(
            "SELECT cell_id FROM evaluation.meeting_score WHERE meeting_id = $1 ORDER BY cell_id", meeting_id
        )
        return evaluation, notified, [row["cell_id"] for row in scores]
    finally:
        await db.close()


async def test_an_event_forged_by_another_broker_user_is_refused_and_the_genuine_relays_applied(
    system: dict[str, Any],
    database_url: str,
    broker_users: BrokerUsers,  # noqa: F811
) -> None:
    thon1, thon2 = random_id("demo-cb-thon-1"), random_id("demo-cb-thon-2")
    meeting_id = f"{thon2}-2026-11"
    await relayed(system["pool"], scheduled(meeting_id, thon2, day=20))

    async def genuine_applied() -> bool:
        return await cells_held(database_url, meeting_id) == (thon2, thon2, [thon2])

    await eventually(genuine_applied, timeout=60)

    # the trial's message: one event, no user_id; then with the admin's own (RabbitMQ-checked) user_id, as a batch
    await forged(
        system["admin"], [scheduled(meeting_id, thon1, day=21, event_id="t29-forged-1")], user_id=None, batch=False
    )
    await forged(system["admin"], [scheduled(meeting_id, thon1, day=22)], user_id="guest", batch=True)

    for queue in (EVALUATION_FACTS.dead_letter_queue, NOTIFICATIONS_EVENTS.dead_letter_queue):

        async def both_refused(queue: str = queue) -> list[str] | None:
            reasons = await dead_reasons(system["admin"], queue, meeting_id)
            return reasons if len(reasons) == 2 else None

        reasons = await eventually(both_refused, timeout=60)
        assert all(reason.startswith("user_id:") and "meeting.scheduled.v1" in reason for reason in reasons), reasons
        assert any("a message without user_id" in reason for reason in reasons), reasons
        assert any("broker user 'guest'" in reason for reason in reasons), reasons
        assert all(f"{broker_users.prefix}meetings" in reason for reason in reasons), reasons
    assert await cells_held(database_url, meeting_id) == (thon2, thon2, [thon2])

    # the genuine relay's next fact is still applied
    other = f"{thon2}-2026-12"
    await relayed(system["pool"], scheduled(other, thon2, day=24))

    async def next_applied() -> bool:
        return await cells_held(database_url, other) == (thon2, thon2, [thon2])

    await eventually(next_applied, timeout=60)


async def test_a_fact_moving_a_meeting_to_another_cell_is_refused_naming_the_field_even_from_its_owner(
    system: dict[str, Any], database_url: str
) -> None:
    thon1, thon2 = random_id("cb-thon-1"), random_id("cb-thon-2")
    single, batched, beside = (f"{thon2}-{n}" for n in ("a", "b", "c"))
    await relayed(system["pool"], scheduled(single, thon2, day=20), scheduled(batched, thon2, day=21))

    async def applied() -> bool:
        held = [await cells_held(database_url, m) for m in (single, batched)]
        return held == [(thon2, thon2, [thon2])] * 2

    await eventually(applied, timeout=60)

    await relayed(system["pool"], scheduled(single, thon1, day=23))  # one event alone
    # a batch: the contradicting fact refused, the genuine one beside it applied
    await relayed(system["pool"], scheduled(batched, thon1, day=24), scheduled(beside, thon2, day=25))

    async def beside_applied() -> bool:
        return await cells_held(database_url, beside) == (thon2, thon2, [thon2])

    await eventually(beside_applied, timeout=60)
    for queue in (EVALUATION_FACTS.dead_letter_queue, NOTIFICATIONS_EVENTS.dead_letter_queue):
        for meeting_id in (single, batched):

            async def refused(queue: str = queue, meeting_id: str = meeting_id) -> list[str] | None:
                return await dead_reasons(system["admin"], queue, meeting_id) or None

            reasons = await eventually(refused, timeout=60)
            assert reasons[0].startswith("data.cell_id:") and "a meeting never changes cell" in reasons[0], reasons
    for meeting_id in (single, batched):
        assert await cells_held(database_url, meeting_id) == (thon2, thon2, [thon2])

    # replayed as the service replays its dead letters (the operations page's RPC: its own login), each is judged by
    # who first published it (meetings' relay, which the dead letter names under evaluation's own user_id): refused
    # again for its cell, never for its publisher
    connection = await aio_pika.connect(system["evaluation"])
    try:
        replayed = await replay_dead_letters(connection, EVALUATION_FACTS.dead_letter_queue)
    finally:
        await connection.close()
    assert replayed["replayed"] >= 2
    for meeting_id in (single, batched):

        async def died_again(meeting_id: str = meeting_id) -> list[str] | None:
            return await dead_reasons(system["admin"], EVALUATION_FACTS.dead_letter_queue, meeting_id) or None

        again = await eventually(died_again, timeout=60)
        assert all(reason.startswith("data.cell_id:") for reason in again), again
    for meeting_id in (single, batched):
        assert await cells_held(database_url, meeting_id) == (thon2, thon2, [thon2])


async def dead_letter_headers(admin_url: str, queue: str, meeting_id: str) -> list[dict[str, Any]]:
    """The headers of every dead letter in `queue` naming `meeting_id` (each given back to the queue)."""
    connection = await aio_pika.connect(admin_url)
    try:
        channel = await connection.channel()
        dlq = await channel.declare_queue(queue, passive=True)
        found: list[dict[str, Any]] = []
        while (message := await dlq.get(no_ack=False, fail=False)) is not None:
            if meeting_id.encode() in bytes(message.body):
                found.append(dict(message.headers or {}))
        return found  # unacknowledged: back in the queue when the channel closes
    finally:
        await connection.close()


async def test_a_dead_letter_replayed_that_dies_again_still_names_its_original_exchange_and_routing_key(
    system: dict[str, Any],
) -> None:
    """A new user's trial: a dead letter replayed once lost where it came from, its `x-chibo-origin-exchange` ""
    and its routing key the queue's (`evaluation.facts`); who published it and why it died were kept."""
    meeting_id = f"{random_id('cb-origin')}-2026-11"
    event = scheduled(meeting_id, random_id("cb-thon-1"), day=21)
    await forged(system["admin"], [event], user_id="guest", batch=False)
    origin = {
        "x-chibo-origin-exchange": EVENTS_EXCHANGE,
        "x-chibo-origin-routing-key": "meeting.scheduled.v1",
        "x-chibo-origin-user-id": "guest",
    }
    queue = EVALUATION_FACTS.dead_letter_queue

    async def died(replays: int) -> list[dict[str, Any]] | None:
        letters = await dead_letter_headers(system["admin"], queue, meeting_id)
        return [h for h in letters if int(h.get("x-chibo-replayed") or 0) == replays] or None

    [first] = await eventually(lambda: died(0), timeout=60)
    assert {name: first.get(name) for name in origin} == origin, first
    for replays in (1, 2):  # replayed as the operations page's RPC does (the service's own login), twice
        connection = await aio_pika.connect(system["evaluation"])
        try:
            replayed = await replay_dead_letters(connection, queue, event_id=event.id)
        finally:
            await connection.close()
        assert replayed["replayed"] == 1, replayed
        [again] = await eventually(lambda replays=replays: died(replays), timeout=60)
        assert {name: again.get(name) for name in origin} == origin, again
        assert str(again.get("x-chibo-reason")).startswith("user_id: broker user 'guest'"), again


def unit(unit_id: str, kind: str, *, day: int) -> Any:
    """org.unit.upserted.v1 as meetings publishes it: a cell (residential) or a committee, as of `day` November."""
    data: dict[str, Any] = {"id": unit_id, "name": "Chi bộ thôn 2", "kind": kind, "parent_id": None}
    if kind == "cell":
        data["category"] = "residential"
    return new_event(
        type="org.unit.upserted.v1",
        source="urn:chibo:meetings",
        time=datetime(2026, 11, day, 8, 0, tzinfo=VIETNAM_TZ),
        data=OrgUnitUpserted.model_validate(data),
    )


async def test_a_snapshot_changing_a_units_kind_is_refused_naming_the_field(
    system: dict[str, Any], database_url: str
) -> None:
    cell = random_id("cb-thon-2")
    query = (
        "SELECT (SELECT kind FROM evaluation.unit WHERE id = $1), (SELECT kind FROM notifications.unit WHERE id = $1)"
    )

    async def kinds() -> tuple[str | None, str | None]:
        db = await asyncpg.connect(database_url)
        try:
            row = await db.fetchrow(query, cell)
            assert row is not None
            return row[0], row[1]
        finally:
            await db.close()

    await relayed(system["pool"], unit(cell, "cell", day=1))

    async def stored() -> bool:
        return await kinds() == ("cell", "cell")

    await eventually(stored, timeout=60)
    await relayed(system["pool"], unit(cell, "committee", day=2))
    for queue in (EVALUATION_FACTS.dead_letter_queue, NOTIFICATIONS_EVENTS.dead_letter_queue):

        async def refused(queue: str = queue) -> list[str] | None:
            return await dead_reasons(system["admin"], queue, cell) or None

        reasons = await eventually(refused, timeout=60)
        assert reasons[0].startswith("data.kind:") and "a unit never changes kind" in reasons[0], reasons
    assert await kinds() == ("cell", "cell")


def test_who_may_publish_is_derived_from_the_broker_users_and_the_source_text_is_never_trusted() -> None:
    # per-process users (make up: prefix chibo-; the k8s manifests: no prefix)
    assert publishers_by_owner("chibo-evaluation", "chibo-")["meetings"] == {"chibo-meetings"}
    assert publishers_by_owner("evaluation", "")["evaluation"] == {"evaluation"}
    # one broker user for every process: only it
    assert publishers_by_owner("guest", "chibo-") == dict.fromkeys(
        ("meetings", "evaluation", "notifications"), {"guest"}
    )
    # named explicitly
    assert publishers_by_owner("guest", "chibo-", {"meetings": ["feeder"]})["meetings"] == {"feeder"}
    publishers = Publishers("chibo-notifications", publishers_by_owner("chibo-notifications", "chibo-"))
    assert publisher_refusal("meeting.scheduled.v1", "chibo-meetings", publishers) is None
    assert publisher_refusal("score.cell.updated.v1", "chibo-evaluation", publishers) is None
    for user in ("guest", "chibo-evaluation", None):
        refusal = publisher_refusal("meeting.scheduled.v1", user, publishers)
        assert refusal is not None and refusal.startswith("user_id:") and "meeting.scheduled.v1" in refusal
    assert publisher_refusal("score.cell.updated.v1", "chibo-meetings", publishers) is not None


def test_a_copy_handed_back_keeps_its_originals_publisher_and_only_the_service_itself_can_vouch() -> None:
    headers = {"x-chibo-origin-exchange": EVENTS_EXCHANGE, "x-chibo-origin-routing-key": "k"}
    own = SimpleNamespace(
        exchange="",
        routing_key="q",
        user_id="chibo-evaluation",
        headers={**headers, "x-chibo-origin-user-id": "chibo-meetings"},
    )
    other = SimpleNamespace(
        exchange="", routing_key="q", user_id="guest", headers={**headers, "x-chibo-origin-user-id": "chibo-meetings"}
    )
    assert origin_of(own, own_user="chibo-evaluation").user_id == "chibo-meetings"
    assert origin_of(other, own_user="chibo-evaluation").user_id == "guest"


def test_a_replayed_copy_names_the_original_exchange_and_key_of_every_kind_of_dead_letter() -> None:
    """first_origin: a letter its consumer wrote as the replaying login (vouched headers), one the broker dead-lettered
    (x-death), and one that says neither (the default exchange and the queue, as before)."""
    login, queue = "chibo-evaluation", EVALUATION_FACTS.name
    vouched: Any = SimpleNamespace(
        user_id=login,
        headers={
            "x-chibo-origin-exchange": EVENTS_EXCHANGE,
            "x-chibo-origin-routing-key": b"meeting.scheduled.v1",
            "x-chibo-origin-user-id": "guest",
        },
    )
    by_broker: Any = SimpleNamespace(
        user_id="chibo-meetings",
        headers={"x-death": [{"exchange": EVENTS_EXCHANGE, "routing-keys": ["meeting.held.v1"], "queue": queue}]},
    )
    forged: Any = SimpleNamespace(user_id="guest", headers=dict(vouched.headers))  # its headers vouched by nobody
    silent: Any = SimpleNamespace(user_id=None, headers={"x-first-death-queue": queue})
    assert first_origin(vouched, login, queue=queue) == Origin(EVENTS_EXCHANGE, "meeting.scheduled.v1", "guest")
    assert first_origin(by_broker, login, queue=queue) == Origin(EVENTS_EXCHANGE, "meeting.held.v1", "chibo-meetings")
    assert first_origin(forged, login, queue=queue) == Origin("", queue, "guest")
    assert first_origin(silent, login, queue=queue) == Origin("", queue, None)


def test_an_unchanged_property_passes_and_a_changed_one_names_its_field() -> None:
    check_unchanged("data.cell_id", subject="meeting m", held=None, sent="c1", rule="r")
    check_unchanged("data.cell_id", subject="meeting m", held="c1", sent="c1", rule="r")
    with pytest.raises(Exception, match="data.cell_id: meeting m is 'c2' here"):
        check_unchanged("data.cell_id", subject="meeting m", held="c2", sent="c1", rule="r")
