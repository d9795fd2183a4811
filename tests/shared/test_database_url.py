"""A database URL with a query (a Unix socket's directory, an application name) works wherever a URL is."""

import uuid

import asyncpg

from shared.db import ensure_database
from tests.support.env import DEFAULT_DATABASE_URL


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
