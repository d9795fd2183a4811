"""The minimal feeders of docs/integrations.md (docs/examples/feeder.py and feeder.js) run unchanged against the
real system, with the accounts `make up` gives the demo (deploy/demo_access.py's integration account, scoped to the
province with DEMO_FEED_SOURCES, and a broker user with the feed user's permissions of deploy/broker_users.sh): their
events are accepted over HTTP and applied from RabbitMQ, whose answer on their direct reply-to they print. The
minimal listeners (docs/examples/listener.py and listener.js) read both forms of a chibo.events message: one event
and a batch; run exactly as docs/integrations.md writes them with a login of `make up`'s listener permissions
(deploy/broker_permissions.sh) they hear a score event, and a login the broker refuses is told so in one line."""

import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
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


def broker_permissions(name: str) -> list[str]:
    """configure, write, read of deploy/broker_permissions.sh's user `name` (what `make up` gives <prefix>name)."""
    script = 'source deploy/broker_permissions.sh && perm_configure "$1" && perm_write "$1" && perm_read "$1"'
    printed = subprocess.run(
        ["bash", "-c", script, "_", name], cwd=ROOT, check=True, capture_output=True, text=True, timeout=60
    ).stdout.splitlines()
    assert len(printed) == 3 and all(printed), printed
    return printed


@contextmanager
def broker_login(amqp_url: str, name: str) -> Iterator[str]:
    """The AMQP URL of a new broker user of `amqp_url`'s vhost with the permissions of `make up`'s user `name`
    (deploy/broker_permissions.sh; not one of CHIBO_SYSTEM_PUBLISHERS); removed afterwards."""
    parts = urlsplit(amqp_url)
    vhost = unquote(parts.path[1:]) or "/"
    user, password = f"chibo-test-{name}-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    subprocess.run(["rabbitmqctl", "-q", "add_user", user, password], check=True, capture_output=True, timeout=60)
    try:
        subprocess.run(
            ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, user, *broker_permissions(name)],
            check=True,
            capture_output=True,
            timeout=60,
        )
        host = f"{parts.hostname or '127.0.0.1'}:{parts.port or 5672}"
        yield urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_user", user], check=False, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def feed_amqp_url(system: RunningSystem) -> Iterator[str]:
    """A login with the feed user's permissions in the system's vhost, as `make up` writes CHIBO_AMQP_URL_FEED."""
    with broker_login(system.env["CHIBO_AMQP_URL"], "feed") as url:
        yield url


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


def documented_listener_commands() -> dict[str, str]:
    """The listener command lines of docs/integrations.md "Minimal listeners", as a reader copies them: {language:
    the shell command}."""
    section = (ROOT / "docs" / "integrations.md").read_text().split("## Minimal listeners", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^  `([^`]*listener\.(?:py|js)[^`]*)`$", section, flags=re.MULTILINE)
    python = [command for command in commands if "listener.py" in command]
    node = [command for command in commands if "listener.js" in command]
    assert len(python) == 1 and len(node) == 1, section
    return {"python": python[0], "node": node[0]}


def listener_shell(command: str, login: str) -> list[str]:
    """`command` run as a reader runs it after `source var/broker-credentials.env` (CHIBO_AMQP_URL_LISTEN = `login`),
    with this environment's python first on PATH."""
    return ["bash", "-c", f"CHIBO_AMQP_URL_LISTEN={shlex.quote(login)}; {command}"]


def listener_env() -> dict[str, str]:
    """The environment the documented commands run in: this interpreter as `python`, the SDK's node modules."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, "NODE_PATH": str(NODE_MODULES)}


@pytest.fixture(scope="module")
def listen_amqp_url(amqp_url: str) -> Iterator[str]:
    """A login with the listener user's permissions, as `make up` writes CHIBO_AMQP_URL_LISTEN."""
    with broker_login(amqp_url, "listen") as url:
        yield url


@pytest.mark.parametrize("language", ["python", "node"])
async def test_the_documented_listener_command_hears_a_score_event_with_the_listener_login(
    amqp_url: str, listen_amqp_url: str, language: str
) -> None:
    """Trial: the docs' listener run with the demo's only feed login crashed on ACCESS_REFUSED; the command exactly
    as docs/integrations.md writes it, with make up's listener login, hears a score event."""
    await declare_topology(amqp_url)
    process = await asyncio.create_subprocess_exec(
        *listener_shell(documented_listener_commands()[language], listen_amqp_url),
        cwd=ROOT,
        env=listener_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        first = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        assert first.decode().startswith("listening on chibo.events for score.#"), (
            first + await asyncio.wait_for(process.stderr.read(), timeout=60)
        ).decode(errors="replace")
        ids = await publish_both_forms(amqp_url, LISTENED_TYPE)
        heard: set[str] = set()
        while not set(ids) <= heard:
            line = (await asyncio.wait_for(process.stdout.readline(), timeout=60)).decode()
            assert line, "the listener stopped"
            heard.add(line.split()[1])
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


@pytest.mark.parametrize("language", ["python", "node"])
async def test_a_listener_refused_by_the_broker_says_so_in_one_line(amqp_url: str, language: str) -> None:
    """Trial: with the feed login the Python listener ended in a traceback (`ACCESS_REFUSED - access to queue
    'amq.gen-…' refused`); either listener now says it in one line naming the permission problem, exit code 2."""
    await declare_topology(amqp_url)
    with broker_login(amqp_url, "feed") as feed_login:
        process = await asyncio.create_subprocess_exec(
            *listener_shell(documented_listener_commands()[language], feed_login),
            cwd=ROOT,
            env=listener_env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(process.communicate(), timeout=120)
    said = err.decode(errors="replace")
    assert process.returncode == 2, said
    assert len(said.strip().splitlines()) == 1 and "Traceback" not in said, said
    assert said.startswith("listener: ") and "permission problem" in said and "CHIBO_AMQP_URL_LISTEN" in said, said
    assert re.search("ACCESS[_-]REFUSED", said), said
