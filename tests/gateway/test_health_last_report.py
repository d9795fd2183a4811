"""A service found down shows its last heartbeat as such, not as its status (trial: right after `kill -9` of meetings
`/v1/system/health` answered `"meetings": {"status": "down", "detail": {"status": "ok", …, "consumers": 1}}`: the
detail, the dead process's last heartbeat, said ok under the verdict down). The real gateway app and its board; the
killed process is a real one that has exited, on a port nothing listens on, as check_local finds a `kill -9`."""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from services.gateway.bootstrap import GatewayState
from shared.instances import InstanceIdentity
from tests.support.ids import random_id
from tests.support.running import free_port


async def test_a_service_killed_outright_shows_its_last_heartbeat_labelled_not_as_its_status(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], state: GatewayState
) -> None:
    service = random_id("probe")
    killed = InstanceIdentity(service, http_port=free_port())
    exited = await asyncio.create_subprocess_exec("true")
    await exited.wait()
    killed.pid = exited.pid  # a process that no longer exists, as a kill -9 leaves it
    before = datetime.now(UTC)
    state.instances.record(killed.status("ok", [], {"service": service, "status": "ok", "consumers": 1}))

    health = (await client.get("/v1/system/health", headers=headers["operator"])).json()
    report = health["services"][service]
    assert report["status"] == "down"
    detail = report["detail"]
    assert detail["status"] == "down" and "consumers" not in detail, detail
    assert detail["last_report"] == {"service": service, "status": "ok", "consumers": 1}
    seen = datetime.fromisoformat(detail["last_seen"])
    assert before - timedelta(seconds=5) <= seen <= datetime.now(UTC)
    assert detail["reporting"] == 0 and detail["instances"] == 1
    assert f"{service} down" in health["attention"]
