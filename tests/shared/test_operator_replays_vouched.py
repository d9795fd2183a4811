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

from shared.envelope import CLOUDEVENT_CONTENT_TYPE
from shared.topology import EVALUATION_FACTS, UNROUTED_EXCHANGE
from tests.shared.test_broker_permissions import BrokerUsers, broker_users, credentials  # noqa: F401 (fixtures)
from tests.shared.test_event_publishers import cells_held, dead_reasons, scheduled, system  # noqa: F401 (fixture)
from tests.shared.test_ops_cli import audit_rows_since, last_audit_row
from tests.support.ids import random_id
from tests.support.ops import run_ops
from tests.support.running import eventually

pytestmark = pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs the broker's rabbitmqctl")


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
    died = {"x-first-death-queue": EVALUATION_FACTS.name, "x-first-death-reason": "rejected"}
    dlq = EVALUATION_FACTS.dead_letter_queue
    before = await last_audit_row(database_url)
    # as the broker dead-letters a delivery: with its properties, `user_id` the publisher's
    await publish(credentials["meetings"], "", dlq, scheduled(genuine, cell, day=20), user_id=meetings_user(), **died)
    await publish(system["admin"], "", dlq, scheduled(forged, cell, day=21), user_id="guest", **died)

    answer = await asyncio.to_thread(cli, system, database_url, "dead-letters", "replay", "--queue", dlq)
    assert answer["queue"] == dlq and answer["replayed"] >= 2, answer
    [(method, status, detail)] = await audit_rows_since(database_url, before, f"/cli/dead-letters/{dlq}/replay")
    assert (method, status, detail["replayed"]) == ("CLI", 200, answer["replayed"])

    async def applied() -> bool:
        return await evaluation_cell(database_url, genuine) == cell

    await eventually(applied, timeout=60)
    reasons = await eventually(lambda: refused_as(system, forged, "guest"), timeout=60)
    assert all("meeting.scheduled.v1" in reason for reason in reasons), reasons
    assert await evaluation_cell(database_url, forged) is None
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

    async def applied() -> bool:
        return await evaluation_cell(database_url, genuine) == cell

    await eventually(applied, timeout=60)
    reasons = await eventually(lambda: refused_as(system, forged, "guest"), timeout=60)
    assert all(key in reason for reason in reasons), reasons
    assert await evaluation_cell(database_url, forged) is None


def meetings_user() -> str:
    """Meetings' broker user (`<prefix>meetings`), as the exported prefix names it."""
    return f"{os.environ['CHIBO_BROKER_USER_PREFIX']}meetings"
