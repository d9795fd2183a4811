"""`make up` on a fresh checkout does what the README says: it brings the whole system up, seeds the demo province,
writes the demo tokens and prints where to go, and every demo token and web sign-in works, as do the README's own
account commands (`web-account`, `issue-token`) and `shared.ops alert-rules` run as written afterwards. Run for real,
in a copy of this checkout (its own `var/`), on a database, virtual host, broker users and ports of its own, so it
meets neither a developer's running demo nor another test.

A fresh user's trial found `make up` failing at its last step (session 20): the demo tokens were issued with the
shared broker user, whom meetings refuses as an RPC caller, so no token file and no web sign-in existed; every test
of the pieces passed because each used a fake meetings service. Two later trials found the README's `web-account` and
`issue-token` refused (exit 2, "broker user 'guest' not in CHIBO_RPC_CALLERS") until the user sourced the broker
credentials by hand: they now act as the gateway's broker user by themselves (shared.config.gateway_caller)."""

import asyncio
import os
import socket
import subprocess
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import pytest

from deploy.demo_access import TOKENS, WEB_ACCOUNTS
from deploy.seed_demo import DemoYear
from shared.periods import VIETNAM_TZ
from tests.evaluation.waiting import current_body
from tests.shared.test_broker_permissions import NAMES
from tests.support.env import fresh_database
from tests.web.conftest import csrf_of

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ("services/gateway/web", "shared/asyncapi_ui", "docs/examples", "tests/web/oidc")
"""The folders whose npm installs the copy shares with this checkout (bootstrap.sh finds them installed)."""
PASSWORD = "chibo-demo-2026"


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of this checkout's files (tracked and new, as `git ls-files` lists them), npm installs shared."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
    ).stdout.split(b"\0")
    copy = tmp_path / "chibo"
    for name in (f.decode() for f in files if f and b"node_modules/" not in f):
        source = ROOT / name
        if source.is_file():
            target = copy / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
            target.chmod(source.stat().st_mode)
    for folder in NODE_MODULES:
        (copy / folder / "node_modules").symlink_to(ROOT / folder / "node_modules")
    return copy


@pytest.fixture
def environment(infra: tuple[str, str]) -> Iterator[dict[str, str]]:
    """The variables `make up` reads, naming a database, vhost, broker users and ports of this test's own; the
    vhost and users are removed afterwards (the database is dropped)."""
    tag = uuid.uuid4().hex[:8]
    vhost, prefix = f"chibo-up-{tag}", f"chibo-up-{tag}-"
    amqp = urlsplit(infra[0])
    with fresh_database(infra[1]) as database_url:
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("CHIBO_") and name != "VIRTUAL_ENV"  # the copy's own environment, not ours
        }
        env |= {
            "CHIBO_AMQP_URL": urlunsplit(amqp._replace(path="/" + quote(vhost, safe=""))),
            "CHIBO_DATABASE_URL": database_url,
            "CHIBO_BROKER_USER_PREFIX": prefix,
            "CHIBO_GATEWAY_PORT": str(free_port()),
            "CHIBO_MEETINGS_PORT": str(free_port()),
            "CHIBO_EVALUATION_PORT": str(free_port()),
            "CHIBO_NOTIFICATIONS_PORT": str(free_port()),
            "CHIBO_SMTP_PORT": str(free_port()),
        }
        try:
            yield env
        finally:
            subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False, capture_output=True, timeout=60)
            for name in NAMES:
                subprocess.run(
                    ["rabbitmqctl", "-q", "delete_user", f"{prefix}{name}"],
                    check=False,
                    capture_output=True,
                    timeout=60,
                )


@pytest.fixture
def make_up(checkout: Path, environment: dict[str, str]) -> Iterator[tuple[subprocess.CompletedProcess[str], str]]:
    """`make up` run in the copy: (how it ended, the gateway's URL); `make down` afterwards."""
    try:
        result = subprocess.run(
            ["make", "up"], cwd=checkout, env=environment, capture_output=True, text=True, timeout=900
        )
        yield result, f"http://127.0.0.1:{environment['CHIBO_GATEWAY_PORT']}"
    finally:
        subprocess.run(["make", "down"], cwd=checkout, env=environment, capture_output=True, timeout=120)


@pytest.mark.timeout(1500)  # make up (up to 900 s), the checks, make down (120 s): a loaded machine took 352 s in all
async def test_make_up_on_a_fresh_checkout_prints_where_to_go_and_every_demo_access_works(
    checkout: Path, environment: dict[str, str], make_up: tuple[subprocess.CompletedProcess[str], str]
) -> None:
    result, gateway = make_up
    assert result.returncode == 0, f"make up failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    output = result.stdout
    assert "chibo is up." in output
    assert f"{gateway}/app/" in output
    tokens = dict(
        line.split("=", 1) for line in (checkout / "var" / "demo-tokens.env").read_text().splitlines() if line
    )
    assert sorted(tokens) == sorted(variable for variable, *_ in TOKENS)

    def bearer(variable: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[variable]}"}

    starts_at = (datetime.now(VIETNAM_TZ) + timedelta(days=14)).replace(hour=19, minute=30, second=0, microsecond=0)
    meeting_id = f"demo-cb-thon-1-up-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=gateway, timeout=60) as api:
        period = DemoYear.at().period  # the demo's latest closed month
        # the seed's tree applied first (a read meanwhile is of the tree as last applied, `recalculating`)
        url = f"/v1/committees/demo-tinh-uy/rollup?period={period}"
        rollup = await current_body(api, url, headers=bearer("OFFICER_TOKEN"))
        assert (rollup["committee_id"], rollup["cells"]) == ("demo-tinh-uy", 6), rollup
        scheduled = await api.post(
            "/v1/cells/demo-cb-thon-1/meetings",
            headers=bearer("SECRETARY_TOKEN"),
            json={
                "meeting_id": meeting_id,
                "kind": "thematic",
                "topic": "Học tập Chỉ thị 50",
                "starts_at": starts_at.isoformat(),
                "location": "Nhà văn hóa thôn 1",
                "agenda": ["Quán triệt Chỉ thị 50-CT/TW"],
            },
        )
        assert scheduled.status_code in (200, 201, 202), scheduled.text
        # the demo feed's token sends under the sources make up reserved for it in meetings
        fed = await api.post(
            "/v1/events",
            headers=bearer("INTEGRATION_TOKEN") | {"Content-Type": "application/cloudevents+json"},
            json={
                "specversion": "1.0",
                "id": f"up-{uuid.uuid4().hex[:8]}",
                "source": "urn:example:handbook",
                "type": "meeting.cancelled.v1",
                "time": datetime.now(VIETNAM_TZ).replace(microsecond=0).isoformat(),
                "data": {"meeting_id": meeting_id, "reason": "Trùng lịch họp của xã"},
            },
        )
        assert fed.status_code in (200, 202), fed.text
        assert fed.json()["rejected"] == 0 and fed.json()["accepted"] + fed.json()["held"] == 1, fed.text
        health = await api.get("/v1/system/health", headers=bearer("OPERATOR_TOKEN"))
        assert health.status_code == 200, health.text

    for sub, *_ in WEB_ACCOUNTS:
        async with httpx.AsyncClient(base_url=gateway, timeout=60) as web:
            csrf = csrf_of((await web.get("/app/sign-in")).text)
            signed = await web.post("/app/sign-in", data={"username": sub, "password": PASSWORD, "csrf": csrf})
            assert signed.status_code == 303, (sub, signed.status_code, signed.text[:500])
            first = await web.get(signed.headers["location"], follow_redirects=True)
            assert first.status_code == 200, (sub, first.status_code)
            assert "/sign-in" not in str(first.url), (sub, first.url)

    # the README's account commands exactly as written (two new users' trials found them refused, exit 2: meetings
    # answers only the gateway's broker user): in a shell with none of our CHIBO_ variables, so the copy's var/up.env
    # (as `make up` saved it) names the system, they act as the gateway's user of var/broker-credentials.env
    as_written = {name: value for name, value in environment.items() if not name.startswith("CHIBO_")}
    gateway_user = f"{environment['CHIBO_BROKER_USER_PREFIX']}gateway"

    def run(command: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        """`command` (the docs' words, split on spaces) run in the copy as a user runs it."""
        return subprocess.run(
            command.split(), cwd=checkout, env=as_written, input=stdin, capture_output=True, text=True, timeout=180
        )

    def acted_as_gateway(done: subprocess.CompletedProcess[str]) -> None:
        assert done.returncode == 0, done.stderr
        said = done.stderr.splitlines()[0]
        assert f"as user {gateway_user!r}" in said and "CHIBO_AMQP_URL_GATEWAY from var/broker-credentials.env" in said

    new_password = "mat-khau-bi-thu-2026"
    account = await asyncio.to_thread(
        run,
        "uv run python -m services.gateway web-account --sub bi-thu-moi --role secretary --unit demo-cb-thon-1"
        " --person demo-cb-thon-1-dv02",
        f"{new_password}\n",
    )
    acted_as_gateway(account)
    async with httpx.AsyncClient(base_url=gateway, timeout=60) as web:
        csrf = csrf_of((await web.get("/app/sign-in")).text)
        signed = await web.post("/app/sign-in", data={"username": "bi-thu-moi", "password": new_password, "csrf": csrf})
        assert signed.status_code == 303, (signed.status_code, signed.text[:500])
        first = await web.get(signed.headers["location"], follow_redirects=True)
        assert first.status_code == 200 and "/sign-in" not in str(first.url), first.url

    issued = await asyncio.to_thread(
        run,
        "uv run python -m services.gateway issue-token --role secretary --unit demo-cb-thon-1 --sub up-secretary"
        " --person demo-cb-thon-1-dv01",
    )
    acted_as_gateway(issued)
    token = issued.stdout.strip()
    assert token.count(".") == 2  # a JWT
    # an administrator adds a scoped feed as docs/integrations.md says (the sources reserved in meetings over its RPC)
    feed = await asyncio.to_thread(
        run,
        "uv run python -m services.gateway issue-token --role integration --unit demo-xa-hoa-binh --sub up-feed"
        " --source urn:example:up-feed",
    )
    acted_as_gateway(feed)
    assert feed.stdout.strip().count(".") == 2
    # an operator's alert rules, as docs/operations.md writes the command (notifications answers the gateway's user)
    rules = await asyncio.to_thread(run, "uv run python -m shared.ops alert-rules list --committee demo-tinh-uy")
    acted_as_gateway(rules)
    async with httpx.AsyncClient(base_url=gateway, timeout=60) as api:
        meetings = await api.get("/v1/cells/demo-cb-thon-1/meetings", headers={"Authorization": f"Bearer {token}"})
        assert meetings.status_code == 200, meetings.text
