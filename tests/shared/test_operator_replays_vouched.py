"""`python -m shared.ops dead-letters replay` and `unrouted return` beside `make up`'s per-process broker users: the
command runs as the broker admin (CHIBO_AMQP_URL), so a copy it published itself carried the admin as publisher
(`user_id`) and consumers refused every fact it brought back (docs/security.md, "Who may publish a fact"). The
service now does it over its RPC as the operations page does, vouching for each copy's first publisher: a genuine
meetings fact is applied again, one first published by the admin stays refused.

Real broker (a vhost and users of this module's own, deploy/broker_users.sh), evaluation serving as its own user."""

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest

from shared.config import broker_user_of
from shared.consuming import ORIGIN_HEADERS, REPLAYED_HEADER
from shared.envelope import CLOUDEVENT_CONTENT_TYPE
from shared.topology import EVALUATION_FACTS, EVENTS_EXCHANGE, UNROUTED_EXCHANGE
from tests.shared.test_broker_permissions import BrokerUsers, broker_users, credentials  # noqa: F401 (fixtures)
from tests.shared.test_event_publishers import cells_held, dead_reasons, scheduled, system  # noqa: F401 (fixture)
from tests.shared.test_ops_cli import audit_rows_since, last_audit_row
from tests.support.broker_users import SLOW
from tests.support.ids import random_id
from tests.support.ops import run_ops
from tests.support.running import eventually

pytestmark = [pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs the broker's rabbitmqctl"), SLOW]

DIED = {"x-first-death-queue": EVALUATION_FACTS.name, "x-first-death-reason": "rejected"}
"""The headers the broker gives a delivery it dead-letters from evaluation's facts queue, refused."""


@pytest.fixture
async def as_make_up(
    broker_users: BrokerUsers,  # noqa: F811
    credentials: dict[str, str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[None]:
    """The command line's environment after `make up`: the gateway's URL and the users' prefix exported."""
    monkeypatch.setenv("CHIBO_AMQP_URL_GATEWAY", credentials["gateway"])
    monkeypatch.setenv("CHIBO_BROKER_USER_PREFIX", broker_users.prefix)
    yield None


async def publish(url: str, exchange: str, routing_key: str, event: Any, *, user_id: str, **headers: Any) -> None:
    """`event` published as the user of `url` (its `user_id` that login) to `exchange` with `routing_key`."""
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        target = channel.default_exchange if exchange == "" else await channel.get_exchange(exchange)
        message = aio_pika.Message(
            bytes(event.to_json()),
            content_type=CLOUDEVENT_CONTENT_TYPE,
            message_id=event.id,
            user_id=user_id,
            headers=headers,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await target.publish(message, routing_key=routing_key)
    finally:
        await connection.close()


async def evaluation_cell(database_url: str, meeting_id: str) -> str | None:
    """The meeting's cell as evaluation stored it (None: never applied)."""
    return (await cells_held(database_url, meeting_id))[0]


async def refused_as(system: dict[str, Any], meeting_id: str, user: str) -> list[str] | None:  # noqa: F811
    """The causes of evaluation's dead letters of `meeting_id` naming `user` as publisher, None when none yet."""
    reasons = await dead_reasons(system["admin"], EVALUATION_FACTS.dead_letter_queue, meeting_id)
    return [reason for reason in reasons if reason.startswith("user_id:") and f"'{user}'" in reason] or None


async def applied_to(database_url: str, cell: str, *meeting_ids: str) -> None:
    """Wait (60 s at most) until evaluation has applied every one of the meetings, each stored under `cell`."""

    async def applied() -> bool:
        return all([await evaluation_cell(database_url, meeting_id) == cell for meeting_id in meeting_ids])

    await eventually(applied, timeout=60)


async def judged_by_first_publisher(
    system: dict[str, Any],  # noqa: F811
    database_url: str,
    cell: str,
    genuine: str,
    forged: str,
) -> None:
    """The meetings' copy brought back is applied, under `cell`; the admin's (published as `guest`) is refused, its
    causes naming `guest` and meeting.scheduled.v1, and never applied."""
    await applied_to(database_url, cell, genuine)
    reasons = await eventually(lambda: refused_as(system, forged, "guest"), timeout=60)
    assert all("meeting.scheduled.v1" in reason for reason in reasons), reasons
    assert await evaluation_cell(database_url, forged) is None


def cli(system: dict[str, Any], database_url: str, *args: str) -> Any:  # noqa: F811
    """The command line run as the broker admin (CHIBO_AMQP_URL), as beside `make up`; its JSON answer."""
    result = run_ops(system["admin"], database_url, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


async def test_a_dead_letter_replayed_by_the_admins_command_line_is_judged_by_its_first_publisher(
    system: dict[str, Any],  # noqa: F811
    credentials: dict[str, str],  # noqa: F811
    database_url: str,
    as_make_up: None,
) -> None:
    cell = random_id("cb-dl")
    genuine, forged = f"{cell}-genuine", f"{cell}-forged"
    died, dlq = DIED, EVALUATION_FACTS.dead_letter_queue
    before = await last_audit_row(database_url)
    # as the broker dead-letters a delivery: with its properties, `user_id` the publisher's
    await publish(credentials["meetings"], "", dlq, scheduled(genuine, cell, day=20), user_id=meetings_user(), **died)
    await publish(system["admin"], "", dlq, scheduled(forged, cell, day=21), user_id="guest", **died)

    answer = await asyncio.to_thread(cli, system, database_url, "dead-letters", "replay", "--queue", dlq)
    assert answer["queue"] == dlq and answer["replayed"] >= 2, answer
    [(method, status, detail)] = await audit_rows_since(database_url, before, f"/cli/dead-letters/{dlq}/replay")
    assert (method, status, detail["replayed"]) == ("CLI", 200, answer["replayed"])
    await judged_by_first_publisher(system, database_url, cell, genuine, forged)
    assert await refused_as(system, genuine, "guest") is None


async def test_unrouted_copies_returned_by_the_admins_command_line_are_judged_by_their_first_publisher(
    system: dict[str, Any],  # noqa: F811
    credentials: dict[str, str],  # noqa: F811
    database_url: str,
    as_make_up: None,
) -> None:
    cell = random_id("cb-lost")
    genuine, forged = f"{cell}-genuine", f"{cell}-forged"
    key = "meeting.scheduled.v1"
    before = await last_audit_row(database_url)
    # as chibo.events' alternate exchange passes on a message no binding took: its properties, `user_id` included
    await publish(
        credentials["meetings"], UNROUTED_EXCHANGE, key, scheduled(genuine, cell, day=20), user_id=meetings_user()
    )
    await publish(system["admin"], UNROUTED_EXCHANGE, key, scheduled(forged, cell, day=21), user_id="guest")

    answer = await asyncio.to_thread(cli, system, database_url, "unrouted", "return", "--service", "evaluation")
    assert answer["moved"] >= 2 and answer["left"] == 0, answer
    [(method, status, detail)] = await audit_rows_since(
        database_url, before, "/cli/unrouted/evaluation.unrouted/return"
    )
    assert (method, status, detail["moved"]) == ("CLI", 200, answer["moved"])
    await judged_by_first_publisher(system, database_url, cell, genuine, forged)


async def test_the_admins_command_line_without_the_gateways_credentials_refuses_naming_them(
    system: dict[str, Any],  # noqa: F811
    broker_users: BrokerUsers,  # noqa: F811
    credentials: dict[str, str],  # noqa: F811
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Beside per-process users with no CHIBO_AMQP_URL_GATEWAY (nor var/broker-credentials.env) the command line
    replayed the letters itself, as the admin: their consumer refused each, naming the admin."""
    monkeypatch.delenv("CHIBO_AMQP_URL_GATEWAY", raising=False)
    monkeypatch.setenv("CHIBO_BROKER_USER_PREFIX", broker_users.prefix)
    cell = random_id("cb-nogw")
    genuine = f"{cell}-genuine"
    died, dlq = DIED, EVALUATION_FACTS.dead_letter_queue
    await publish(credentials["meetings"], "", dlq, scheduled(genuine, cell, day=20), user_id=meetings_user(), **died)

    result = await asyncio.to_thread(run_ops, system["admin"], database_url, "dead-letters", "replay", "--queue", dlq)
    assert result.returncode == 5, (result.returncode, result.stderr)
    said = result.stderr.splitlines()[-1]
    assert "CHIBO_AMQP_URL_GATEWAY" in said and "var/broker-credentials.env" in said, said
    assert f"by {meetings_user()!r}" in said and "evaluation replays them" in said, said
    assert await refused_as(system, genuine, "guest") is None
    assert await dead_reasons(system["admin"], dlq, genuine), "the letter stays where it was"

    monkeypatch.setenv("CHIBO_AMQP_URL_GATEWAY", credentials["gateway"])
    await asyncio.to_thread(cli, system, database_url, "dead-letters", "replay", "--queue", dlq)
    await applied_to(database_url, cell, genuine)


async def test_letters_the_admins_command_line_replayed_itself_before_it_asked_the_service_are_applied_now(
    system: dict[str, Any],  # noqa: F811
    credentials: dict[str, str],  # noqa: F811
    database_url: str,
    as_make_up: None,
) -> None:
    """Between the publisher check (5bd3426d) and the replay through the service (e9ac039a) the command line replayed
    as the admin, straight to the queue: evaluation refused each copy naming the admin, and a replay through it now
    named the admin again. A copy the admin published to chibo.events stays the admin's."""
    cell = random_id("cb-between")
    written, rejected, forged = f"{cell}-written", f"{cell}-rejected", f"{cell}-forged"
    dlq, admin = EVALUATION_FACTS.dead_letter_queue, broker_user_of(system["admin"])
    died = {**DIED, REPLAYED_HEADER: 1}
    refusal = f"user_id: broker user {admin!r} may not publish meeting.scheduled.v1; not applied"
    # evaluation's own letter of the refused copy (dead_letter_delivery): as its user, naming the admin's replay
    straight = {ORIGIN_HEADERS[0]: "", ORIGIN_HEADERS[1]: EVALUATION_FACTS.name, ORIGIN_HEADERS[2]: admin}
    await publish(
        credentials["evaluation"],
        "",
        dlq,
        scheduled(written, cell, day=20),
        user_id=evaluation_user(),
        **died,
        **straight,
        **{"x-chibo-reason": refusal},
    )
    # the broker's (the copy rejected as it came): the admin's copy with the origin it named
    claimed = {ORIGIN_HEADERS[0]: "", ORIGIN_HEADERS[1]: EVALUATION_FACTS.name, ORIGIN_HEADERS[2]: meetings_user()}
    await publish(system["admin"], "", dlq, scheduled(rejected, cell, day=21), user_id=admin, **died, **claimed)
    # a copy the admin published to chibo.events, replayed since: the admin's own
    published = {
        ORIGIN_HEADERS[0]: EVENTS_EXCHANGE,
        ORIGIN_HEADERS[1]: "meeting.scheduled.v1",
        ORIGIN_HEADERS[2]: admin,
    }
    await publish(
        credentials["evaluation"],
        "",
        dlq,
        scheduled(forged, cell, day=22),
        user_id=evaluation_user(),
        **died,
        **published,
        **{"x-chibo-reason": refusal},
    )

    await asyncio.to_thread(cli, system, database_url, "dead-letters", "replay", "--queue", dlq)
    await applied_to(database_url, cell, written, rejected)

    async def refused_again() -> list[str] | None:
        reasons = await dead_reasons(system["admin"], dlq, forged)
        return [reason for reason in reasons if "user_id:" in reason and reason != refusal] or None

    reasons = await eventually(refused_again, timeout=60)
    assert all(f"'{admin}'" in reason for reason in reasons), reasons
    assert await evaluation_cell(database_url, forged) is None


def evaluation_user() -> str:
    """Evaluation's broker user (`<prefix>evaluation`), as the exported prefix names it."""
    return f"{os.environ['CHIBO_BROKER_USER_PREFIX']}evaluation"


def meetings_user() -> str:
    """Meetings' broker user (`<prefix>meetings`), as the exported prefix names it."""
    return f"{os.environ['CHIBO_BROKER_USER_PREFIX']}meetings"
