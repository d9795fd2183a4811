"""A frozen consumer as operators see it: a new user's trial froze meetings (`kill -STOP`) and published 5,000 events;
/app/operations showed `meetings.ingest : 0 · 1` while RabbitMQ held 5 batch messages unacknowledged on that queue,
labelled the service "Không phản hồi" and its process "Đang hoạt động" at once, and the gateway's /health still said
`"evaluation": "answering"` while evaluation was frozen (a consumer on the RPC queue is no answer).

The whole system runs as processes on a vhost and database of their own; the test freezes the real meetings and
evaluation processes with SIGSTOP, reads the overview, the page, /health and `make status` (deploy/status.sh), then
lets them run again (SIGCONT) and waits until everything is handled."""

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from deploy.seed_demo import publish
from tests.support.env import fresh_database, isolated_vhost
from tests.support.running import eventually
from tests.support.system import ROOT, RunningSystem, issue_token, running_system
from tests.web.conftest import signed_in, web_account

pytestmark = pytest.mark.e2e

FAST = {"CHIBO_STATUS_EVERY_SECONDS": "0.5", "CHIBO_INSTANCE_WINDOW_SECONDS": "600"}
"""Heartbeats every 0.5 s and a window longer than the test: the frozen processes are found by their state (T in
/proc), not by heartbeats overdue, so nothing here waits on the window (test_instances says why)."""
PATIENCE = 300.0
BATCHES = 5
EVENTS_PER_BATCH = 20


@pytest.fixture
def system(
    infra: tuple[str, str], database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningSystem]:
    """The four services and the mail sink, heartbeats every 0.5 s."""
    with (
        isolated_vhost(infra[0]) as amqp_url,
        fresh_database(database_url) as own_database,
        running_system(
            amqp_url=amqp_url, database_url=own_database, workdir=tmp_path_factory.mktemp("frozen"), extra_env=FAST
        ) as s,
    ):
        yield s


def events(count: int) -> list[dict[str, Any]]:
    """`count` events meetings will reject once it runs (an unknown type): what they are does not matter here."""
    return [
        {
            "specversion": "1.0",
            "id": f"frozen-{n}",
            "source": "urn:chibo:test-frozen",
            "type": "org.example.unknown.v1",
            "time": "2026-12-01T00:00:00Z",
            "data": {},
        }
        for n in range(count)
    ]


def ingest_queue(overview: dict[str, Any]) -> dict[str, Any]:
    """meetings.ingest as the overview gives it."""
    return next(q for q in overview["services"]["meetings"]["queues"] if q["name"] == "meetings.ingest")


def status_exit(system: RunningSystem) -> int:
    """`make status`'s exit code (deploy/status.sh) against the test's processes."""
    env = {**system.env}
    for name in ("meetings", "evaluation", "notifications", "gateway"):
        env[f"CHIBO_{name.upper()}_PORT"] = system.service_urls[name].rsplit(":", 1)[1]
    env["CHIBO_SMTP_PORT"] = system.env["CHIBO_SMTP_PORT"]
    done = subprocess.run(["bash", "deploy/status.sh"], cwd=ROOT, env=env, capture_output=True, timeout=120)
    return done.returncode


async def test_a_frozen_consumer_shows_frozen_with_its_queue_s_backlog_from_the_broker(system: RunningSystem) -> None:
    meetings = system.processes["meetings"]
    evaluation = system.processes["evaluation"]
    token = issue_token(system, role="operator", unit=None, sub="frozen-reader")
    await web_account(system, "van-hanh-dong-bang", "operator", None, None)
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=60, headers={"Authorization": f"Bearer {token}"}
    ) as operator:

        async def overview() -> dict[str, Any]:
            response = await operator.get("/v1/operations/overview")
            assert response.status_code == 200, response.text
            return dict(response.json())

        async def meetings_ok() -> bool:
            return bool((await overview())["services"]["meetings"]["status"] == "ok")

        await eventually(meetings_ok, timeout=PATIENCE, interval=0.5)
        assert status_exit(system) == 0
        os.kill(meetings.pid, signal.SIGSTOP)
        os.kill(evaluation.pid, signal.SIGSTOP)
        try:
            await publish(system.env["CHIBO_AMQP_URL"], events(BATCHES * EVENTS_PER_BATCH), batch_size=EVENTS_PER_BATCH)
            seen: list[dict[str, Any]] = []

            async def frozen_with_backlog() -> bool:
                seen.append(await overview())
                service = seen[-1]["services"]["meetings"]
                queue = ingest_queue(seen[-1])
                return bool(
                    service["status"] == "down"
                    and [i["state"] for i in service["instances"] if i["pid"] == meetings.pid] == ["frozen"]
                    and queue["backlog"] == BATCHES
                )

            try:
                await eventually(frozen_with_backlog, timeout=PATIENCE, interval=1.0)
            except AssertionError as exc:
                raise AssertionError(f"{exc}: last overview {seen[-1] if seen else None!r}") from exc
            queue = ingest_queue(seen[-1])
            # the broker's count, not the consumer's: the batches delivered to the frozen process count too
            assert queue["source"] == "management", queue
            assert queue["unacknowledged"] >= 1, queue
            assert queue["messages"] + queue["unacknowledged"] == BATCHES, queue
            assert any(
                "meetings.ingest: 5 messages not handled" in line
                for line in seen[-1]["services"]["meetings"]["attention"]
            )

            # the page: one state for the service, the frozen process said so, the broker's figure with its parts
            async with signed_in(system, "van-hanh-dong-bang") as browser:
                page = (await browser.get("/app/operations")).text
            row = re.search(r'<tr data-service="meetings">(.*?)</tr>', page, re.S)
            assert row is not None, page[:2000]
            assert "Không phản hồi" in row.group(1), row.group(1)
            assert "Đang hoạt động" not in row.group(1), row.group(1)
            assert f'data-instance-pid="{meetings.pid}" data-instance-state="frozen"' in row.group(1), row.group(1)
            assert "Bị treo (tiến trình bị dừng bằng tín hiệu)" in row.group(1), row.group(1)
            depth = re.search(
                r'<li data-queue="meetings.ingest">.*?<span data-depth[^>]*>([^<]*)</span>', row.group(1), re.S
            )
            assert depth is not None and depth.group(1) == "5", row.group(1)
            assert "tin đã giao nhưng chưa xác nhận xử lý xong" in row.group(1), row.group(1)

            # the gateway's /health: a frozen evaluation is not answering, though its consumer is still on its queue
            health = (await operator.get("/health")).json()
            assert health["services"]["evaluation"] == "not answering", health
            assert health["services"]["notifications"] == "answering", health
            assert status_exit(system) != 0
        finally:
            os.kill(meetings.pid, signal.SIGCONT)
            os.kill(evaluation.pid, signal.SIGCONT)

        async def all_handled() -> bool:
            found = await overview()
            health = (await operator.get("/health")).json()
            return bool(
                found["services"]["meetings"]["status"] != "down"
                and ingest_queue(found)["backlog"] == 0
                and health["services"]["evaluation"] == "answering"
            )

        await eventually(all_handled, timeout=PATIENCE, interval=1.0)
