"""The services' command lines an operator runs by hand (`python -m services.gateway issue-token`, `web-account`,
`python -m services.<x> migrate`, evaluation's `rescore`, meetings' bulk commands) act on the system `make up` started
their checkout with, as `python -m shared.ops` does: var/up.env read by deploy/settings.sh (an exported variable
wins), and the vhost and database acted on said first on stderr, without the password. They read only the
environment: in a checkout brought up on its own vhost and database, an account was recorded in the default one.

Each test runs the real command line in a directory laid out as a checkout (this tree's `shared` and `services`,
deploy/settings.sh, a var/up.env as `make up` writes it), against the real RabbitMQ and PostgreSQL."""

import asyncio
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

ROOT = Path(__file__).resolve().parents[2]


def service_checkout(tmp_path: Path, **saved: str) -> Path:
    """`checkout` with this tree's `services` too."""
    workdir = checkout(tmp_path, **saved)
    shutil.copytree(ROOT / "services", workdir / "services", ignore=shutil.ignore_patterns("__pycache__"))
    for module in (ROOT / "deploy").glob("*.py"):
        shutil.copy2(module, workdir / "deploy" / module.name)
    return workdir


def run_in(workdir: Path, *args: str, stdin: str = "", **exported: str) -> subprocess.CompletedProcess[str]:
    """`python -m <args>` run in `workdir` (its own packages), a new shell: no CHIBO_ variable but those given."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CHIBO_")} | exported
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=workdir,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
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
