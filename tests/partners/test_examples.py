"""The minimal feeders of docs/integrations.md (docs/examples/feeder.py and feeder.js) run unchanged against the
real system, with the accounts `make up` gives the demo (deploy/demo_access.py's integration account, scoped to the
province with DEMO_FEED_SOURCES, and a broker user with the feed user's permissions of deploy/broker_users.sh): their
events are accepted over HTTP and applied from RabbitMQ, whose answer on their direct reply-to they print. The
minimal listeners (docs/examples/listener.py and listener.js) read both forms of a chibo.events message: one event
and a batch."""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import aio_pika
import asyncpg
import httpx
import pytest

from deploy.demo_access import DEMO_FEED_SOURCES, TOKENS
from shared.config import broker_user_of
from shared.envelope import BATCH_CONTENT_TYPE, CLOUDEVENT_CONTENT_TYPE
from shared.topology import EVENTS_EXCHANGE, declare_topology
from tests.partners import sdk
from tests.partners.js import NODE_MODULES, run_node
from tests.partners.scenario import Scenario
from tests.support.ids import random_id
from tests.support.running import eventually
from tests.support.system import ROOT, RunningSystem, issue_token

FEED_PERMISSIONS = (
    r"^chibo\.(ingest|events|dead-letter|unrouted)$",
    r"^chibo\.(ingest|unrouted)$",
    r"^chibo\.(ingest|events|unrouted)$",
)
"""configure, write, read of deploy/broker_users.sh's feed user: the demo's broker login for feeding."""


@pytest.fixture(scope="module")
def feed_amqp_url(system: RunningSystem) -> Iterator[str]:
    """The AMQP URL of a broker user of the system's vhost with the feed user's permissions (not one of
    CHIBO_SYSTEM_PUBLISHERS), as `make up` writes CHIBO_AMQP_URL_FEED; removed afterwards."""
    parts = urlsplit(system.env["CHIBO_AMQP_URL"])
    vhost = unquote(parts.path[1:]) or "/"
    user, password = f"chibo-test-feed-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    subprocess.run(["rabbitmqctl", "-q", "add_user", user, password], check=True, capture_output=True, timeout=60)
    try:
        subprocess.run(
            ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, user, *FEED_PERMISSIONS],
            check=True,
            capture_output=True,
            timeout=60,
        )
        host = f"{parts.hostname or '127.0.0.1'}:{parts.port or 5672}"
        yield urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_user", user], check=False, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
async def demo_feed(system: RunningSystem, integration_token: str) -> tuple[str, str]:
    """(the demo's INTEGRATION_TOKEN as deploy/demo_access.py issues it: scoped to the province with
    DEMO_FEED_SOURCES, the committee the docs pass as --committee, one below the province)."""
    province, commune = Scenario().events()[0], Scenario().events()[0]
    commune["data"] |= {"parent_id": province["data"]["id"]}
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=60, headers={"Authorization": f"Bearer {integration_token}"}
    ) as client:
        for unit in (province, commune):
            headers, body = sdk.http_structured(unit)
            response = await client.post("/v1/events", content=body, headers=headers)
            assert response.json()["results"][0]["outcome"] == "accepted", response.text
    [(role, sub)] = [(role, sub) for variable, role, _, _, sub in TOKENS if variable == "INTEGRATION_TOKEN"]
    token = await asyncio.to_thread(
        issue_token,
        system,
        role=role,
        unit=str(province["data"]["id"]),
        sub=random_id(sub),
        sources=DEMO_FEED_SOURCES,
    )
    return token, str(commune["data"]["id"])


async def check_feeder_output(output: str, meetings_db: asyncpg.Connection) -> None:
    """Two HTTP events accepted, one meeting published to chibo.ingest, answered `accepted` on the feeder's direct
    reply-to (docs/integrations.md "Outcomes over AMQP"), and stored, never rejected."""
    lines = output.splitlines()
    assert len(lines) == 4, output
    assert all(line.startswith("http ") and line.endswith(": accepted") for line in lines[:2]), output
    assert lines[2].startswith("amqp meeting.scheduled.v1 ") and lines[2].endswith(": published"), output
    event_id = lines[2].split()[2].rstrip(":")
    assert lines[3] == f"amqp meeting.scheduled.v1 {event_id}: accepted", output

    async def judged() -> Any:
        rejected = await meetings_db.fetchval("SELECT reason FROM rejection WHERE event_id = $1", event_id)
        if rejected is not None:
            return f"rejected: {rejected}"
        return await meetings_db.fetchval(
            "SELECT m.meeting_id FROM meeting m JOIN member s ON s.cell_id = m.cell_id WHERE s.version_id = $1",
            lines[1].split()[2].rstrip(":"),
        )

    outcome = await eventually(judged, timeout=90)
    assert not str(outcome).startswith("rejected:"), outcome


async def test_the_python_example_feeder_works_against_the_system(
    system: RunningSystem, demo_feed: tuple[str, str], feed_amqp_url: str, meetings_db: asyncpg.Connection
) -> None:
    token, committee = demo_feed
    args = ["--gateway", system.gateway_url, "--token", token, "--amqp", feed_amqp_url, "--committee", committee]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "docs" / "examples" / "feeder.py"),
        *args,
        env=os.environ.copy(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode(errors="replace")
    await check_feeder_output(out.decode(), meetings_db)


async def test_the_javascript_example_feeder_works_against_the_system(
    system: RunningSystem, demo_feed: tuple[str, str], feed_amqp_url: str, meetings_db: asyncpg.Connection
) -> None:
    token, committee = demo_feed
    env = {
        "CHIBO_GATEWAY_URL": system.gateway_url,
        "CHIBO_TOKEN": token,
        "CHIBO_AMQP_URL": feed_amqp_url,
        "CHIBO_COMMITTEE": committee,
    }
    output = await run_node("docs/examples/feeder.js", env=env)
    await check_feeder_output(output.decode(), meetings_db)


LISTENED_TYPE = "score.cell.updated.v1"


async def publish_both_forms(amqp_url: str, routing_key: str) -> list[str]:
    """One structured event, then a batch of two, on chibo.events; their ids in order."""
    events = [Scenario().events()[0] | {"id": random_id("listened"), "type": LISTENED_TYPE} for _ in range(3)]
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(EVENTS_EXCHANGE)
        await exchange.publish(
            aio_pika.Message(
                json.dumps(events[0]).encode(), content_type=CLOUDEVENT_CONTENT_TYPE, user_id=broker_user_of(amqp_url)
            ),
            routing_key=routing_key,
        )
        await exchange.publish(
            aio_pika.Message(
                json.dumps(events[1:]).encode(), content_type=BATCH_CONTENT_TYPE, user_id=broker_user_of(amqp_url)
            ),
            routing_key=routing_key,
        )
    return [event["id"] for event in events]


async def run_listener(
    command: Callable[[str], list[str]], amqp_url: str, env: dict[str, str]
) -> tuple[list[str], list[str]]:
    """Start a listener example on a routing key of its own, publish both forms once it listens; return its event
    lines and the ids sent."""
    routing_key = f"test.{random_id('listener')}"
    await declare_topology(amqp_url)
    process = await asyncio.create_subprocess_exec(
        *command(routing_key),
        cwd=ROOT,
        env={**os.environ, **env, "CHIBO_ROUTING_KEY": routing_key},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    first = await asyncio.wait_for(process.stdout.readline(), timeout=60)
    assert first.decode().startswith("listening"), first
    ids = await publish_both_forms(amqp_url, routing_key)
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode(errors="replace")
    return out.decode().splitlines(), ids


async def test_the_python_example_listener_reads_one_event_and_a_batch(amqp_url: str) -> None:
    script = str(ROOT / "docs" / "examples" / "listener.py")
    lines, ids = await run_listener(
        lambda key: [sys.executable, script, "--amqp", amqp_url, "--count", "3", "--routing-key", key], amqp_url, {}
    )
    assert [line.split()[:2] for line in lines] == [[LISTENED_TYPE, event_id] for event_id in ids]


async def test_the_javascript_example_listener_reads_one_event_and_a_batch(amqp_url: str) -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed for the JavaScript SDK tests"
    lines, ids = await run_listener(
        lambda _: [node, "docs/examples/listener.js"],
        amqp_url,
        {"CHIBO_AMQP_URL": amqp_url, "CHIBO_COUNT": "3", "NODE_PATH": str(NODE_MODULES)},
    )
    assert [line.split()[:2] for line in lines] == [[LISTENED_TYPE, event_id] for event_id in ids]
