"""`python -m shared.ops` acts on the system `make up` started its checkout with (var/up.env, read by
deploy/settings.sh as make status and deploy/serve.sh read it), says on stderr which vhost and database it acts on,
and names a connection it cannot make in one line. A new user's trial, in a checkout brought up on vhost and
database trial18: `dead-letters list` printed `null` for every queue (it looked at vhost `/`, silently), `held list`
crashed with a traceback `database "chibo" does not exist`, and a `purge` or `replay` could have acted on another
checkout's system.

Each test runs the real command line in a directory laid out as a checkout (its own copy of `shared` and
deploy/settings.sh, a var/up.env written as `make up` writes it), against the real RabbitMQ and PostgreSQL."""

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import pytest

from shared.db import apply_migrations, migration_files
from shared.ops.dead_letters import DEAD_LETTER_QUEUES
from shared.topology import CONSUMER_QUEUES, declare_topology
from tests.support.env import fresh_database, isolated_vhost
from tests.support.ids import random_id
from tests.support.ops import publish_dead_letter

ROOT = Path(__file__).resolve().parents[2]


def checkout(tmp_path: Path, **saved: str) -> Path:
    """A checkout-like directory (this tree's `shared` and deploy/settings.sh) whose var/up.env holds `saved` as
    `make up` writes it (`export NAME=VALUE`, the value quoted by printf %q)."""
    shutil.copytree(ROOT / "shared", tmp_path / "shared", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "deploy").mkdir()
    shutil.copy2(ROOT / "deploy" / "settings.sh", tmp_path / "deploy" / "settings.sh")
    (tmp_path / "var").mkdir()
    lines = subprocess.run(
        ["bash", "-c", 'while [ $# -gt 0 ]; do printf "export %s=%q\\n" "$1" "$2"; shift 2; done', "-"]
        + [part for pair in saved.items() for part in pair],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    (tmp_path / "var" / "up.env").write_text("# the settings the last `make up` in this checkout was given\n" + lines)
    return tmp_path


def ops_in(workdir: Path, *args: str, **exported: str) -> subprocess.CompletedProcess[str]:
    """`python -m shared.ops` run in `workdir` (its own `shared`), a new shell: no CHIBO_ variable but those given."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CHIBO_")} | exported
    return subprocess.run(
        [sys.executable, "-m", "shared.ops", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def with_path(url: str, path: str) -> str:
    """`url` naming another vhost or database."""
    return urlunsplit(urlsplit(url)._replace(path=path))


def failure_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The one error line of a command that failed with `code`, after the line naming what it acts on."""
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("ops: acting on "), result.stderr
    return lines[1]


@pytest.fixture(scope="module")
def own_database(database_url: str) -> Iterator[str]:
    """A database of its own, as a checkout brought up with its own CHIBO_DATABASE_URL has."""
    with fresh_database(database_url) as url:
        yield url


async def test_ops_acts_on_the_vhost_and_database_saved_in_the_checkouts_up_env(
    amqp_url: str, own_database: str, tmp_path: Path
) -> None:
    await apply_migrations(own_database, schema="gateway", files=migration_files(ROOT / "services" / "gateway"))
    await apply_migrations(own_database, schema="meetings", files=migration_files(ROOT / "services" / "meetings"))
    with isolated_vhost(amqp_url) as own:
        vhost, database = urlsplit(own).path[1:], urlsplit(own_database).path[1:]
        await declare_topology(own, CONSUMER_QUEUES)
        event_id = random_id("dead")
        connection = await aio_pika.connect(own)
        try:
            channel = await connection.channel(publisher_confirms=True)
            await publish_dead_letter(channel, "evaluation.facts", event_id)
        finally:
            await connection.close()
        workdir = checkout(tmp_path, CHIBO_AMQP_URL=own, CHIBO_DATABASE_URL=own_database)

        counts = await asyncio.to_thread(ops_in, workdir, "dead-letters", "list")
        assert counts.returncode == 0, counts.stderr
        assert json.loads(counts.stdout) == {
            queue: int(queue == "evaluation.facts.dlq") for queue in DEAD_LETTER_QUEUES
        }
        said = counts.stderr.splitlines()[0]
        assert f"vhost '{vhost}'" in said and f"database '{database}'" in said and "from var/up.env" in said, said
        assert "guest:guest" not in counts.stderr  # the password is never shown

        held = await asyncio.to_thread(ops_in, workdir, "held", "list")
        assert held.returncode == 0, held.stderr
        assert json.loads(held.stdout) == {"total": 0, "items": []}

        # a change names the system it changed in its confirmation
        purged = await asyncio.to_thread(
            ops_in, workdir, "dead-letters", "purge", "--queue", "evaluation.facts.dlq", "--yes"
        )
        assert purged.returncode == 0, purged.stderr
        assert json.loads(purged.stdout) == {"queue": "evaluation.facts.dlq", "purged": 1}
        confirmation = json.loads(next(line for line in purged.stderr.splitlines() if "operator_action" in line))
        assert (confirmation["vhost"], confirmation["database"]) == (vhost, database)

        # an exported variable still wins over the saved one
        exported = await asyncio.to_thread(
            ops_in, workdir, "held", "list", CHIBO_DATABASE_URL=with_path(own_database, "/h219_none")
        )
        assert "database 'h219_none'" in failure_line(exported, 6)
        assert "(CHIBO_DATABASE_URL exported)" in exported.stderr.splitlines()[0]


async def test_a_missing_database_or_vhost_or_a_refused_login_is_one_line_naming_the_url_and_the_variable(
    amqp_url: str, database_url: str, tmp_path: Path
) -> None:
    missing_database = with_path(database_url, f"/{random_id('nodb').replace('-', '_')}")
    workdir = checkout(tmp_path, CHIBO_AMQP_URL=amqp_url, CHIBO_DATABASE_URL=missing_database)
    line = failure_line(await asyncio.to_thread(ops_in, workdir, "held", "list"), 6)
    assert "does not exist" in line and missing_database in line and "CHIBO_DATABASE_URL" in line, line

    missing_vhost = with_path(amqp_url, f"/{random_id('novhost')}")
    line = failure_line(
        await asyncio.to_thread(ops_in, workdir, "dead-letters", "list", CHIBO_AMQP_URL=missing_vhost), 6
    )
    assert f"vhost '{urlsplit(missing_vhost).path[1:]}'" in line and "CHIBO_AMQP_URL" in line, line

    parts = urlsplit(amqp_url)
    wrong_login = urlunsplit(
        parts._replace(netloc=f"{parts.username}:h219-wrong-secret@{parts.hostname}:{parts.port or 5672}")
    )
    result = await asyncio.to_thread(ops_in, workdir, "dead-letters", "list", CHIBO_AMQP_URL=wrong_login)
    line = failure_line(result, 6)
    assert "refused the login" in line and "CHIBO_AMQP_URL" in line and ":***@" in line, line
    assert "h219-wrong-secret" not in result.stderr


async def test_a_dead_letter_queue_the_vhost_lacks_is_reported_missing_never_null(
    amqp_url: str, database_url: str, tmp_path: Path
) -> None:
    await apply_migrations(database_url, schema="gateway", files=migration_files(ROOT / "services" / "gateway"))
    with isolated_vhost(amqp_url) as own:
        workdir = checkout(tmp_path, CHIBO_AMQP_URL=own, CHIBO_DATABASE_URL=database_url)
        line = failure_line(await asyncio.to_thread(ops_in, workdir, "dead-letters", "list"), 1)
        assert "none of the" in line and "CHIBO_AMQP_URL" in line, line

        await declare_topology(
            own, [queue for queue in CONSUMER_QUEUES if queue.dead_letter_queue == "evaluation.facts.dlq"]
        )
        counts = await asyncio.to_thread(ops_in, workdir, "dead-letters", "list")
        assert counts.returncode == 0, counts.stderr
        assert json.loads(counts.stdout) == {
            queue: 0 if queue == "evaluation.facts.dlq" else "missing" for queue in DEAD_LETTER_QUEUES
        }
        assert "warning: not in vhost" in counts.stderr

        for action in (("list",), ("replay",), ("purge", "--yes")):
            result = await asyncio.to_thread(
                ops_in, workdir, "dead-letters", action[0], "--queue", "meetings.ingest.dlq", *action[1:]
            )
            line = failure_line(result, 1)
            assert "meetings.ingest.dlq does not exist in vhost" in line, line
