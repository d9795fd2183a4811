"""The minimal feeders of docs/integrations.md (docs/examples/feeder.py and feeder.js) run unchanged against the
real system: their events are accepted over HTTP and applied from RabbitMQ."""

import asyncio
import os
import sys
from typing import Any

import asyncpg
import httpx

from tests.partners import sdk
from tests.partners.js import run_node
from tests.partners.scenario import Scenario
from tests.support.running import eventually
from tests.support.system import ROOT, RunningSystem


async def committee(gateway: httpx.AsyncClient) -> str:
    """A committee for the feeder's new cell, sent structured."""
    ward = Scenario().events()[0]
    headers, body = sdk.http_structured(ward)
    response = await gateway.post("/v1/events", content=body, headers=headers)
    assert response.json()["results"][0]["outcome"] == "accepted", response.text
    return str(ward["data"]["id"])


async def check_feeder_output(output: str, meetings_db: asyncpg.Connection) -> None:
    """Two HTTP events accepted, one meeting published to chibo.ingest and then stored."""
    lines = output.splitlines()
    assert len(lines) == 3, output
    assert all(line.startswith("http ") and line.endswith(": accepted") for line in lines[:2]), output
    assert lines[2].startswith("amqp meeting.scheduled.v1 ") and lines[2].endswith(": published"), output

    async def meeting() -> Any:
        return await meetings_db.fetchrow(
            "SELECT m.meeting_id FROM meeting m JOIN member s ON s.cell_id = m.cell_id WHERE s.version_id = $1",
            lines[1].split()[2].rstrip(":"),
        )

    await eventually(meeting, timeout=90)


async def test_the_python_example_feeder_works_against_the_system(
    system: RunningSystem, integration_token: str, gateway: httpx.AsyncClient, meetings_db: asyncpg.Connection
) -> None:
    args = ["--gateway", system.gateway_url, "--token", integration_token, "--amqp", system.env["CHIBO_AMQP_URL"]]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "docs" / "examples" / "feeder.py"),
        *args,
        "--committee",
        await committee(gateway),
        env=os.environ.copy(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode(errors="replace")
    await check_feeder_output(out.decode(), meetings_db)


async def test_the_javascript_example_feeder_works_against_the_system(
    system: RunningSystem, integration_token: str, gateway: httpx.AsyncClient, meetings_db: asyncpg.Connection
) -> None:
    env = {
        "CHIBO_GATEWAY_URL": system.gateway_url,
        "CHIBO_TOKEN": integration_token,
        "CHIBO_AMQP_URL": system.env["CHIBO_AMQP_URL"],
        "CHIBO_COMMITTEE": await committee(gateway),
    }
    output = await run_node("docs/examples/feeder.js", env=env)
    await check_feeder_output(output.decode(), meetings_db)
