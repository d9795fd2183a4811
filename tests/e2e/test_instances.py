"""The gateway sees every running process of each service (shared.instances): chibo's trial had an operator start a
second process of a service on another port (deploy/serve.sh) and kill the first; the gateway knew one health
address per service and called the service down though the second process ran, and it could not show replicas.

The whole system runs as processes on a vhost and database of their own, with a second evaluation process; the
operator's JSON view (GET /v1/system/health) and the operations page are read as the processes stop."""

import os
import re
import signal
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.env import fresh_database, isolated_vhost
from tests.support.running import eventually, free_port
from tests.support.system import RunningSystem, _spawn, _wait_healthy, issue_token, running_system
from tests.web.conftest import signed_in, web_account

pytestmark = pytest.mark.e2e

FAST = {"CHIBO_STATUS_EVERY_SECONDS": "0.5", "CHIBO_INSTANCE_WINDOW_SECONDS": "600"}
"""Heartbeats every 0.5 s, and a window longer than the test: a killed process is found dead at once (its pid gone,
its port refusing: InstanceBoard.check_local) and a stopped one says so, so no state here waits on the window. With a
3 s window a loaded machine's late heartbeats made a running process `missing` (the service `degraded`) at random."""
PATIENCE = 300.0
"""How long a process may take to reach a state on a loaded machine (a full `make test` beside other work): a state
reached at once costs nothing, and one never reached fails with the last answer."""


@pytest.fixture
def system(
    infra: tuple[str, str], database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningSystem]:
    """The four services and the mail sink, heartbeats every 0.5 s, a process silent for 10 minutes counted missing."""
    with (
        isolated_vhost(infra[0]) as amqp_url,
        fresh_database(database_url) as own_database,
        running_system(
            amqp_url=amqp_url, database_url=own_database, workdir=tmp_path_factory.mktemp("instances"), extra_env=FAST
        ) as s,
    ):
        yield s


def evaluation_of(health: dict[str, Any]) -> tuple[str, dict[int, str]]:
    """(status, {pid: state}) of the evaluation service in a /v1/system/health answer."""
    service = health["services"]["evaluation"]
    return service["status"], {instance["pid"]: instance["state"] for instance in service["instances"]}


async def test_two_processes_of_a_service_one_killed_then_the_other_stopped(
    system: RunningSystem, tmp_path_factory: pytest.TempPathFactory
) -> None:
    first = system.processes["evaluation"]
    port = free_port()
    log = tmp_path_factory.mktemp("second") / "evaluation-2.log"
    second = _spawn("evaluation", system.env, log, port)
    try:
        _wait_healthy("evaluation-2", f"http://127.0.0.1:{port}/health", second, log)
        token = issue_token(system, role="operator", unit=None, sub="instances-reader")
        async with httpx.AsyncClient(
            base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
        ) as operator:

            async def evaluation() -> tuple[str, dict[int, str]]:
                response = await operator.get("/v1/system/health")
                assert response.status_code == 200, response.text
                return evaluation_of(response.json())

            both = {first.pid: "reporting", second.pid: "reporting"}
            await _until(evaluation, ("ok", both))

            # the first process (the one whose /health address the gateway is configured with) is killed: the
            # service still runs, one process short
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=PATIENCE)
            await _until(evaluation, ("degraded", {first.pid: "missing", second.pid: "reporting"}))
            health = (await operator.get("/v1/system/health")).json()
            assert any(f"pid {first.pid}" in line and "silent" in line for line in health["attention"]), health
            # the detail is still a process's own /health body, as when the gateway asked one address
            assert health["services"]["evaluation"]["detail"]["outbox"]["parked"] == 0, health

            # the operations page (Vietnamese) lists both processes, the killed one as not reporting
            await web_account(system, "van-hanh-tien-trinh", "operator", None, None)
            async with signed_in(system, "van-hanh-tien-trinh") as browser:
                page = await browser.get("/app/operations")
            assert page.status_code == 200, page.text[:500]
            killed = re.search(
                f'<li data-instance-pid="{first.pid}" data-instance-state="missing">([^<]*)</li>', page.text
            )
            assert killed is not None, page.text
            assert killed.group(1).startswith(f"Không báo tin: tiến trình {first.pid} trên máy "), killed.group(1)
            assert f'data-instance-pid="{second.pid}" data-instance-state="reporting"' in page.text

            # the second stops cleanly: no process of the service runs any more
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=PATIENCE)
            await _until(evaluation, ("down", {first.pid: "missing", second.pid: "stopped"}))
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()


async def _until(read: Callable[[], Awaitable[Any]], wanted: tuple[str, dict[int, str]]) -> None:
    """Wait until `read()` answers `wanted` (within PATIENCE); a failure says the last answer."""
    answers: list[Any] = []

    async def reached() -> bool:
        answers.append(await read())
        return bool(answers[-1] == wanted)

    try:
        await eventually(reached, timeout=PATIENCE, interval=0.2)
    except AssertionError as exc:
        raise AssertionError(f"{exc}: wanted {wanted!r}, last answered {answers[-1] if answers else None!r}") from exc
