"""An event refused over AMQP records the broker user that sent it (docs/operations.md, "Following an event"): the
message's `user_id`, which RabbitMQ refuses unless it is the publisher's own login. Before, an AMQP rejection's
`sender` and its `event_rejected` line's were null whoever published it, so an operator could not tell which
integrating system sent a bad message (over HTTP both name the API account). A message without `user_id` still
records none ("not given"). Real broker (a user of this module's own in the test vhost), meetings in-process."""

import json
import logging
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import aio_pika
import asyncpg
import pytest

from shared.envelope import BATCH_CONTENT_TYPE, CLOUDEVENT_CONTENT_TYPE
from shared.topology import INGEST_EXCHANGE
from tests.meetings import events as ev
from tests.support.ids import random_id
from tests.support.logs import route_logs_to_stdlib, structured_logs
from tests.support.running import eventually

pytestmark = pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs the broker's rabbitmqctl")


def _rabbitmqctl(*args: str, check: bool = True) -> None:
    """One rabbitmqctl command (the password on stdin for add_user)."""
    subprocess.run(["rabbitmqctl", "-q", *args], check=check, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def integration_url(amqp_url: str) -> Iterator[str]:
    """The AMQP URL of a broker user of this module's own, as operators create one per integration: it may publish
    on chibo.ingest in the test vhost, nothing else. Deleted afterwards."""
    address = urlsplit(amqp_url)
    vhost = unquote(address.path[1:]) or "/"
    login, password = f"chibo-test-integration-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    _rabbitmqctl("add_user", login, password)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, login, "^$", r"^chibo\.ingest$", "^$")
        netloc = f"{quote(login, safe='')}:{password}@{address.hostname}:{address.port or 5672}"
        yield urlunsplit((address.scheme, netloc, address.path, "", ""))
    finally:
        _rabbitmqctl("delete_user", login, check=False)


@pytest.fixture
async def integration(integration_url: str, meetings_service: str) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    """A channel of the integration's user (publisher confirms), with meetings consuming chibo.ingest."""
    connection = await aio_pika.connect(integration_url)
    try:
        yield await connection.channel(publisher_confirms=True)
    finally:
        await connection.close()


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    route_logs_to_stdlib(caplog)
    caplog.set_level(logging.INFO)
    return caplog


async def publish(channel: aio_pika.abc.AbstractChannel, body: Any, *, user_id: str | None) -> None:
    """Publish `body` (one event, or a list: a batch) on chibo.ingest under its type (`batch`), with `user_id`."""
    batch = isinstance(body, list)
    exchange = await channel.get_exchange(INGEST_EXCHANGE, ensure=False)
    await exchange.publish(
        aio_pika.Message(
            json.dumps(body).encode(),
            content_type=BATCH_CONTENT_TYPE if batch else CLOUDEVENT_CONTENT_TYPE,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            user_id=user_id,
        ),
        routing_key="batch" if batch else body["type"],
    )


async def stored_sender(pool: asyncpg.Pool, event: dict[str, Any]) -> dict[str, Any] | None:
    """The rejection of `event` with its sender and its latest attempt's, once stored; None before."""
    row = await pool.fetchrow(
        "SELECT r.sender, (SELECT a.sender FROM rejection_attempt a WHERE a.rejection_id = r.rejection_id"
        " ORDER BY a.attempt DESC LIMIT 1) AS attempt_sender FROM rejection r WHERE r.source = $1 AND r.event_id = $2",
        event["source"],
        event["id"],
    )
    return dict(row) if row is not None else None


def rejected_line(caplog: pytest.LogCaptureFixture, event: dict[str, Any]) -> dict[str, Any] | None:
    """The `event_rejected` line naming `event`, once written."""
    found = [
        line
        for line in structured_logs(caplog)
        if line["event"] == "event_rejected" and line.get("event_id") == event["id"]
    ]
    return found[-1] if found else None


def refused_unit() -> dict[str, Any]:
    """An org.unit.upserted.v1 that meetings refuses (a kind no unit has)."""
    return ev.unit(random_id("cell"), kind="bogus")


def integration_login(url: str) -> str:
    """The broker login of the integration's URL."""
    return unquote(urlsplit(url).username or "")


async def test_a_single_event_refused_records_the_broker_user_that_sent_it(
    integration, integration_url, meetings_pool, lines
):
    login = integration_login(integration_url)
    event = refused_unit()
    await publish(integration, event, user_id=login)
    stored = await eventually(lambda: stored_sender(meetings_pool, event))
    assert stored == {"sender": login, "attempt_sender": login}
    line = await eventually(lambda: rejected_line(lines, event))
    assert line["sender"] == login and line["route"] == "amqp", line


async def test_an_event_of_a_batch_refused_records_the_broker_user_that_sent_it(
    integration, integration_url, meetings_pool, lines
):
    login = integration_login(integration_url)
    accepted, refused = ev.unit(random_id("cell")), refused_unit()
    await publish(integration, [accepted, refused], user_id=login)
    assert await eventually(lambda: stored_sender(meetings_pool, refused)) == {
        "sender": login,
        "attempt_sender": login,
    }
    line = await eventually(lambda: rejected_line(lines, refused))
    assert line["sender"] == login, line
    taken = await eventually(
        lambda: [
            line
            for line in structured_logs(lines)
            if line["event"] == "event_accepted" and line.get("event_id") == accepted["id"]
        ]
    )
    assert taken[-1]["sender"] == login, taken


async def test_a_message_without_user_id_records_no_sender(integration, meetings_pool, lines):
    event = refused_unit()
    await publish(integration, event, user_id=None)
    assert await eventually(lambda: stored_sender(meetings_pool, event)) == {"sender": None, "attempt_sender": None}
    line = await eventually(lambda: rejected_line(lines, event))
    assert "sender" in line and line["sender"] is None, line


async def test_the_broker_refuses_a_user_id_that_is_not_the_publishers_login(integration_url: str) -> None:
    """Why the recorded sender can be trusted: RabbitMQ closes the channel of a publish naming another user_id."""
    connection = await aio_pika.connect(integration_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed):
            await publish(channel, refused_unit(), user_id="chibo-meetings")
    finally:
        await connection.close()
