"""A database URL over PostgreSQL's Unix socket: made for a local server, and usable wherever a URL is."""

import uuid
from pathlib import Path

import asyncpg
import pytest

from shared.db import ensure_database
from tests.support import env
from tests.support.env import DEFAULT_DATABASE_URL, over_local_socket


def test_a_local_server_is_reached_over_its_socket_when_the_socket_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CHIBO_PG_TCP", raising=False)
    monkeypatch.setattr(env, "PG_SOCKET_DIRS", (str(tmp_path),))
    url = "postgresql://chibo:secret@127.0.0.1:5433/test"
    assert over_local_socket(url) == url  # no socket file for that port: TCP as given
    (tmp_path / ".s.PGSQL.5433").touch()
    assert over_local_socket(url) == f"postgresql://chibo:secret@/test?host={tmp_path}&port=5433"
    assert (
        over_local_socket("postgresql://postgres@db.example:5433/test") == "postgresql://postgres@db.example:5433/test"
    )
    monkeypatch.setenv("CHIBO_PG_TCP", "1")
    assert over_local_socket(url) == url


async def test_a_url_with_a_query_names_its_database_to_create() -> None:
    # ensure_database took the text after the URL's last "/" as the database's name: over a socket that is the
    # socket directory's last part ("postgresql?port=5432"), so a fresh machine's database was never created; any
    # query holding a "/" did the same
    name = f"chibo_test_query_{uuid.uuid4().hex[:8]}"
    admin_url = DEFAULT_DATABASE_URL.rpartition("/")[0] + "/postgres"
    url = f"{DEFAULT_DATABASE_URL.rpartition('/')[0]}/{name}?application_name=chibo/tests"
    await ensure_database(url)
    conn = await asyncpg.connect(url)
    try:
        assert await conn.fetchval("SELECT current_database()") == name
        assert await conn.fetchval("SELECT current_setting('application_name')") == "chibo/tests"
    finally:
        await conn.close()
        admin = await asyncpg.connect(admin_url)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
