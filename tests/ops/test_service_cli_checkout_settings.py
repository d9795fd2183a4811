"""The services' command lines an operator runs by hand (`python -m services.gateway issue-token`, `web-account`,
`python -m services.<x> migrate`, `serve` and `health`, evaluation's `rescore`, meetings' bulk commands) act on the
system `make up` started their checkout with, as `python -m shared.ops` does: var/up.env read by deploy/settings.sh
(an exported variable wins), and the vhost and database acted on said first on stderr (not by `serve` and `health`),
without the password. They read only the environment: in a checkout brought up on its own vhost and database, an
account was recorded in the default one; `health` asked the default host.

Each test runs the real command line in a directory laid out as a checkout (this tree's `shared` and `services`,
deploy/settings.sh, a var/up.env as `make up` writes it), against the real RabbitMQ and PostgreSQL."""

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest

from tests.ops.test_ops_checkout_settings import checkout
from tests.support.env import fresh_database, isolated_vhost
from tests.support.ids import random_id
from tests.support.running import free_port
from tests.support.serving import entered, health_answering, service_process

ROOT = Path(__file__).resolve().parents[2]


def service_checkout(tmp_path: Path, **saved: str) -> Path:
    """`checkout` with this tree's `services` too."""
    workdir = checkout(tmp_path, **saved)
    shutil.copytree(ROOT / "services", workdir / "services", ignore=shutil.ignore_patterns("__pycache__"))
    for module in (ROOT / "deploy").glob("*.py"):
        shutil.copy2(module, workdir / "deploy" / module.name)
    return workdir


def run_in(
    workdir: Path, *args: str, stdin: str = "", timeout: float = 120, **exported: str
) -> subprocess.CompletedProcess[str]:
    """`python -m <args>` run in `workdir` (its own packages), a new shell: no CHIBO_ variable but those given."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CHIBO_")} | exported
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=workdir,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


async def account_role(database_url: str, sub: str) -> str | None:
    """The role of the gateway account `sub` in that database; None without one (or without the gateway's tables)."""
    conn = await asyncpg.connect(database_url)
    try:
        if await conn.fetchval("SELECT to_regclass('gateway.account')") is None:
            return None
        return await conn.fetchval("SELECT role FROM gateway.account WHERE sub = $1", sub)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def own_database(database_url: str) -> Iterator[str]:
    """A database of its own, as a checkout brought up with its own CHIBO_DATABASE_URL has."""
    with fresh_database(database_url) as url:
        yield url


@pytest.fixture(scope="module")
def exported_database(database_url: str) -> Iterator[str]:
    """Another database, the one an exported CHIBO_DATABASE_URL names."""
    with fresh_database(database_url) as url:
        yield url


async def test_issue_token_web_account_and_migrate_act_on_the_vhost_and_database_saved_in_up_env(
    amqp_url: str, own_database: str, exported_database: str, tmp_path: Path
) -> None:
    with isolated_vhost(amqp_url) as own:
        vhost, database = urlsplit(own).path[1:], urlsplit(own_database).path[1:]
        workdir = service_checkout(tmp_path, CHIBO_AMQP_URL=own, CHIBO_DATABASE_URL=own_database)

        operator = random_id("op")
        issued = await asyncio.to_thread(
            run_in, workdir, "services.gateway", "issue-token", "--role", "operator", "--sub", operator
        )
        assert issued.returncode == 0, issued.stderr
        said = issued.stderr.splitlines()[0] if issued.stderr else ""
        assert said.startswith("gateway issue-token: acting on "), issued.stderr
        assert f"vhost '{vhost}'" in said and f"database '{database}'" in said, said
        assert "(CHIBO_DATABASE_URL from var/up.env)" in said and "(CHIBO_AMQP_URL from var/up.env)" in said, said
        assert "guest:guest" not in issued.stderr  # the password is never shown
        assert await account_role(own_database, operator) == "operator"

        person = random_id("web")
        made = await asyncio.to_thread(
            run_in,
            workdir,
            "services.gateway",
            "web-account",
            "--sub",
            person,
            "--role",
            "operator",
            stdin="mật-khẩu-h221-2026\n",
        )
        assert made.returncode == 0, made.stderr
        said = made.stderr.splitlines()[0]
        assert said.startswith("gateway web-account: acting on ") and f"database '{database}'" in said, said
        assert await account_role(own_database, person) == "operator"

        migrated = await asyncio.to_thread(run_in, workdir, "services.evaluation", "migrate")
        assert migrated.returncode == 0, migrated.stderr
        assert f"evaluation migrate: acting on broker vhost '{vhost}'" in migrated.stderr, migrated.stderr
        conn = await asyncpg.connect(own_database)
        try:
            assert await conn.fetchval("SELECT to_regnamespace('evaluation')") is not None
        finally:
            await conn.close()

        # an exported variable still wins over the saved one, and the line says so
        elsewhere = random_id("op")
        exported = await asyncio.to_thread(
            run_in,
            workdir,
            "services.gateway",
            "issue-token",
            "--role",
            "operator",
            "--sub",
            elsewhere,
            CHIBO_DATABASE_URL=exported_database,
        )
        assert exported.returncode == 0, exported.stderr
        said = exported.stderr.splitlines()[0]
        assert f"database '{urlsplit(exported_database).path[1:]}'" in said, said
        assert "(CHIBO_DATABASE_URL exported)" in said and "(CHIBO_AMQP_URL from var/up.env)" in said, said
        assert await account_role(exported_database, elsewhere) == "operator"
        assert await account_role(own_database, elsewhere) is None


async def schema_count(database_url: str) -> int:
    """How many of the four services' schemas the database has."""
    conn = await asyncpg.connect(database_url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_namespace"
                " WHERE nspname IN ('meetings', 'evaluation', 'notifications', 'gateway')"
            )
        )
    finally:
        await conn.close()


def test_deploy_migrate_by_hand_migrates_the_database_saved_in_up_env(
    amqp_url: str, database_url: str, tmp_path: Path
) -> None:
    with fresh_database(database_url) as own_database:
        workdir = service_checkout(tmp_path, CHIBO_AMQP_URL=amqp_url, CHIBO_DATABASE_URL=own_database)
        migrated = run_in(workdir, "deploy.migrate")
        assert migrated.returncode == 0, migrated.stderr
        said = migrated.stderr.splitlines()[0] if migrated.stderr else ""
        assert said.startswith("deploy.migrate: acting on "), migrated.stderr
        assert f"database '{urlsplit(own_database).path[1:]}'" in said and "from var/up.env" in said, said
        assert asyncio.run(schema_count(own_database)) == 4


HEALTH_ANSWER = {"status": "ok", "service": "meetings-of-this-checkout"}


@pytest.fixture
def health_on_second_loopback() -> Iterator[int]:
    """A port on 127.0.0.2 (not the default host 127.0.0.1) whose /health answers HEALTH_ANSWER, as a service of a
    checkout brought up with CHIBO_HTTP_HOST=127.0.0.2 would."""
    with health_answering(json.dumps(HEALTH_ANSWER), host="127.0.0.2") as port:
        yield port


def test_health_asks_the_host_saved_in_up_env_and_an_exported_one_wins(
    tmp_path: Path, health_on_second_loopback: int
) -> None:
    # `health` read only the environment: in a checkout brought up with CHIBO_HTTP_HOST=127.0.0.2 it asked 127.0.0.1
    # and said the service was down. CHIBO_HTTP_PORT is per process, never saved: exported here as an operator does.
    workdir = service_checkout(tmp_path, CHIBO_HTTP_HOST="127.0.0.2")
    port = str(health_on_second_loopback)

    asked = run_in(workdir, "services.meetings", "health", CHIBO_HTTP_PORT=port)
    assert asked.returncode == 0, asked.stdout + asked.stderr
    assert json.loads(asked.stdout) == HEALTH_ANSWER
    assert "acting on" not in asked.stderr  # health acts on neither the broker nor the database: no such line

    exported = run_in(workdir, "services.meetings", "health", CHIBO_HTTP_PORT=port, CHIBO_HTTP_HOST="127.0.0.1")
    assert exported.returncode == 1, exported.stdout + exported.stderr
    assert json.loads(exported.stdout)["status"] == "down"


def test_serve_refuses_a_setting_saved_in_up_env_that_the_service_cannot_run_with(
    amqp_url: str, own_database: str, tmp_path: Path
) -> None:
    # `serve` read only the environment: a mail sender saved by `make up` was not the one the service ran with
    workdir = service_checkout(tmp_path, CHIBO_MAIL_FROM="Ban Tổ chức, Văn phòng <btc@example.vn>")
    refused = run_in(
        workdir,
        "services.notifications",
        "serve",
        timeout=60,
        CHIBO_AMQP_URL=amqp_url,
        CHIBO_DATABASE_URL=own_database,
        CHIBO_HTTP_PORT=str(free_port()),
    )
    assert refused.returncode == 2, refused.stderr
    assert "CHIBO_MAIL_FROM: one mailbox expected, found 2" in refused.stderr
    assert "Traceback" not in refused.stderr


async def test_serve_listens_on_the_host_saved_in_up_env_and_health_finds_it_there(
    amqp_url: str, database_url: str, tmp_path: Path
) -> None:
    # the broker and database exported (as deploy/serve.sh exports them), the host only in var/up.env
    workdir = service_checkout(tmp_path, CHIBO_HTTP_HOST="127.0.0.2")
    log = tmp_path / "notifications.log"
    async with (
        entered(isolated_vhost(amqp_url)) as own_vhost,
        entered(fresh_database(database_url)) as own,
        service_process("notifications", own_vhost, own, log, cwd=workdir, host="127.0.0.2") as serving,
    ):
        port = urlsplit(serving.health_url).port
        asked = await asyncio.to_thread(run_in, workdir, "services.notifications", "health", CHIBO_HTTP_PORT=str(port))
        assert asked.returncode == 0, asked.stdout + asked.stderr
        assert json.loads(asked.stdout)["status"] == "ok"


async def database_exists(database_url: str, name: str) -> bool:
    """Whether the server behind `database_url` has a database called `name`."""
    conn = await asyncpg.connect(database_url)
    try:
        return bool(await conn.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", name))
    finally:
        await conn.close()


@pytest.mark.parametrize("args", [("--help",), ("-h",), ("--no-such-option",)])
def test_deploy_migrate_asked_for_help_or_given_an_unknown_option_touches_no_database(
    amqp_url: str, database_url: str, tmp_path: Path, args: tuple[str, ...]
) -> None:
    name = random_id("never").lower().replace("-", "_")
    never = urlsplit(database_url)._replace(path=f"/{name}").geturl()
    workdir = service_checkout(tmp_path, CHIBO_AMQP_URL=amqp_url, CHIBO_DATABASE_URL=never)
    ran = run_in(workdir, "deploy.migrate", *args)
    if args[0] == "--no-such-option":
        assert ran.returncode == 2, (ran.returncode, ran.stdout, ran.stderr)
        assert "--no-such-option" in ran.stderr, ran.stderr
    else:
        assert ran.returncode == 0, (ran.returncode, ran.stdout, ran.stderr)
        assert ran.stdout.startswith("usage: python -m deploy.migrate"), ran.stdout
    assert not asyncio.run(database_exists(database_url, name))
