"""`python -m services.gateway issue-token` records the account and prints a token that works."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt
import pytest

from services.gateway import main as gateway_main
from shared.rpc import RpcError
from tests.gateway.fakes import World
from tests.support.ids import random_id

ROOT = Path(__file__).parents[2]


async def test_issue_token_records_the_account_and_prints_a_token(
    database_url: str, db: asyncpg.Connection, amqp_url: str, world: World
) -> None:
    sub = random_id("sec")
    # no CHIBO_JWT_SECRET: the secret kept in the gateway schema signs the token
    env = {key: value for key, value in os.environ.items() if key != "CHIBO_JWT_SECRET"}
    env.update(CHIBO_DATABASE_URL=database_url, CHIBO_AMQP_URL=amqp_url, CHIBO_LOG_JSON="true")
    result = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "services.gateway",
            "issue-token",
            "--role",
            "secretary",
            "--unit",
            world.cell_a1,
            "--person",
            world.secretary_a1,
            "--sub",
            sub,
            "--days",
            "2",
            "--json",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    secret = await db.fetchval("SELECT secret FROM gateway.signing_secret WHERE id = 1")
    claims = jwt.decode(printed["token"], secret, algorithms=["HS256"], issuer="urn:chibo:gateway")
    assert (claims["sub"], claims["role"], claims["unit_id"], claims["person_id"]) == (
        sub,
        "secretary",
        world.cell_a1,
        world.secretary_a1,
    )
    lifetime = claims["exp"] - claims["iat"]
    assert lifetime <= 2 * 86400
    assert lifetime > 1.9 * 86400
    row = await db.fetchrow("SELECT role, unit_id, person_id, active FROM gateway.account WHERE sub = $1", sub)
    assert dict(row) == {"role": "secretary", "unit_id": world.cell_a1, "person_id": world.secretary_a1, "active": True}


async def test_issue_token_registers_a_scoped_integration_accounts_sources(
    database_url: str, db: asyncpg.Connection, amqp_url: str, world: World
) -> None:
    sub = random_id("feed")
    env = {**os.environ, "CHIBO_DATABASE_URL": database_url, "CHIBO_AMQP_URL": amqp_url, "CHIBO_LOG_JSON": "true"}
    command = [sys.executable, "-m", "services.gateway", "issue-token", "--role", "integration", "--sub", sub]
    sources = ["--source", "urn:test:cell-feed", "--source", "urn:test:cell-feed-2"]
    result = await asyncio.to_thread(
        subprocess.run,
        [*command, "--unit", world.ward_a, *sources, "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["sources"] == [
        "urn:test:cell-feed",
        "urn:test:cell-feed-2",
    ]
    stored = await db.fetchval("SELECT sources FROM gateway.account WHERE sub = $1", sub)
    assert stored == ["urn:test:cell-feed", "urn:test:cell-feed-2"]
    # a province-wide account registers none: it may use any source no scoped account registered
    refused = await asyncio.to_thread(
        subprocess.run,
        [*command[:-1], random_id("prov"), "--province-wide", *sources],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2 and "issue-token: --source: " in refused.stderr  # the option typed, not the field


def issue(env: dict[str, str], *args: str) -> "subprocess.CompletedProcess[str]":
    """`python -m services.gateway issue-token ARGS --json` with `env`."""
    command = [sys.executable, "-m", "services.gateway", "issue-token", *args, "--json"]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)


async def test_issue_token_reserves_the_sources_in_meetings_before_it_prints_the_token(
    database_url: str, amqp_url: str, world: World
) -> None:
    """An account made with `issue-token` had its sources open to every other sender until the running gateway's
    next periodic sync (CHIBO_SOURCE_SYNC_SECONDS, 30 s); an account made through the API, at once. The command now
    sends meetings the registry itself (SyncSources, as the gateway does) before it prints the token."""
    sub, source = random_id("feed"), f"urn:test:{random_id('feed')}"
    env = {**os.environ, "CHIBO_DATABASE_URL": database_url, "CHIBO_AMQP_URL": amqp_url, "CHIBO_LOG_JSON": "true"}
    syncs = len(world.synced_sources)
    result = await asyncio.to_thread(
        issue, env, "--role", "integration", "--sub", sub, "--unit", world.ward_a, "--source", source
    )
    assert result.returncode == 0, result.stderr
    # no waiting: the command returned after meetings answered
    assert len(world.synced_sources) > syncs
    assert source in world.synced_sources[-1].get(world.ward_a, [])
    # a new token for the same account without sources releases them the same way
    result = await asyncio.to_thread(issue, env, "--role", "integration", "--sub", sub, "--unit", world.ward_a)
    assert result.returncode == 0, result.stderr
    assert source not in world.synced_sources[-1].get(world.ward_a, [])


async def test_issue_token_records_nothing_when_meetings_cannot_be_reached(
    database_url: str, db: asyncpg.Connection
) -> None:
    """Without RabbitMQ (or meetings) neither the unit can be checked nor the sources reserved: the command says so,
    naming --unit, and exits 3, and the account is not recorded, so no account holds sources meetings does not know
    nor a unit that may not exist."""
    sub, source = random_id("feed"), f"urn:test:{random_id('feed')}"
    env = {
        **os.environ,
        "CHIBO_DATABASE_URL": database_url,
        "CHIBO_AMQP_URL": "amqp://guest:guest@127.0.0.1:1/",  # nothing listens there
        "CHIBO_RPC_TIMEOUT": "3",
        "CHIBO_LOG_JSON": "true",
    }
    result = await asyncio.to_thread(
        issue, env, "--role", "integration", "--sub", sub, "--unit", "xa-1", "--source", source
    )
    assert result.returncode == 3, (result.returncode, result.stderr)
    assert "issue-token: --unit: meetings could not be asked" in result.stderr, result.stderr
    assert "Nothing was recorded" in result.stderr
    assert result.stdout.strip() == ""  # no token
    assert await db.fetchval("SELECT count(*) FROM gateway.account WHERE sub = $1", sub) == 0
    # an account without a unit or sources needs no meetings: it is recorded as before
    plain = await asyncio.to_thread(issue, env, "--role", "operator", "--sub", random_id("op"))
    assert plain.returncode == 0, plain.stderr


async def test_issue_token_refuses_a_unit_that_does_not_exist_naming_the_option(
    database_url: str, db: asyncpg.Connection, amqp_url: str, world: World, client: httpx.AsyncClient, headers: Any
) -> None:
    """The fresh-user trial: `issue-token --unit does-not-exist` printed a token (for a unit nothing may be read or
    written in). The command refuses it naming `--unit`, exits 2 and records nothing; `POST /v1/accounts` refuses the
    same unit naming `unit_id`; a unit meetings knows is taken as before."""
    env = {**os.environ, "CHIBO_DATABASE_URL": database_url, "CHIBO_AMQP_URL": amqp_url, "CHIBO_LOG_JSON": "true"}
    for role in ("secretary", "committee_officer", "integration", "operator"):
        sub = random_id("nowhere")
        refused = await asyncio.to_thread(issue, env, "--role", role, "--unit", "does-not-exist", "--sub", sub)
        assert refused.returncode == 2, (role, refused.returncode, refused.stdout)
        assert "issue-token: --unit: no organization unit has the id does-not-exist" in refused.stderr, refused.stderr
        assert refused.stdout.strip() == ""  # no token
        assert await db.fetchval("SELECT count(*) FROM gateway.account WHERE sub = $1", sub) == 0
    body = {"role": "secretary", "unit_id": "does-not-exist", "sub": random_id("nowhere")}
    answer = await client.post("/v1/accounts", json=body, headers=headers["admin"])
    assert answer.status_code == 422 and answer.json()["field"] == "unit_id", answer.text
    assert "no organization unit has the id does-not-exist" in answer.json()["message"]
    cell = {"unit_id": world.cell_a1, "person_id": world.secretary_a1}
    known = await client.post("/v1/accounts", json={**body, **cell}, headers=headers["admin"])
    assert known.status_code == 201, known.text


async def test_web_account_refuses_a_unit_that_does_not_exist_naming_the_option(
    database_url: str, db: asyncpg.Connection, amqp_url: str, world: World
) -> None:
    """`web-account --unit does-not-exist` recorded an account for a unit nothing may be read or written in; like
    `issue-token` it refuses naming `--unit`, exits 2 and records nothing; a unit meetings knows is taken."""
    env = {**os.environ, "CHIBO_DATABASE_URL": database_url, "CHIBO_AMQP_URL": amqp_url, "CHIBO_LOG_JSON": "true"}

    def web_account(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "services.gateway", "web-account", "--password", "mật-khẩu-dài-đủ", *args]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)

    sub = random_id("nowhere")
    refused = await asyncio.to_thread(web_account, "--role", "secretary", "--unit", "does-not-exist", "--sub", sub)
    assert refused.returncode == 2, (refused.returncode, refused.stdout, refused.stderr)
    assert "web-account: --unit: no organization unit has the id does-not-exist" in refused.stderr, refused.stderr
    assert await db.fetchval("SELECT count(*) FROM gateway.account WHERE sub = $1", sub) == 0
    # a secretary's account names its person: without one it stands for nobody (membership.MembershipCheck)
    nobody = await asyncio.to_thread(web_account, "--role", "secretary", "--unit", world.cell_a1, "--sub", sub)
    assert nobody.returncode == 2, (nobody.returncode, nobody.stdout, nobody.stderr)
    assert "web-account: --person: a secretary account stands for one member of its cell" in nobody.stderr
    assert await db.fetchval("SELECT count(*) FROM gateway.account WHERE sub = $1", sub) == 0
    person = ("--person", world.secretary_a1)
    known = await asyncio.to_thread(web_account, "--role", "secretary", "--unit", world.cell_a1, *person, "--sub", sub)
    assert known.returncode == 0, known.stderr
    assert await db.fetchval("SELECT unit_id FROM gateway.account WHERE sub = $1", sub) == world.cell_a1


async def test_a_person_of_another_cell_or_unknown_is_refused_naming_the_option(
    database_url: str, db: asyncpg.Connection, amqp_url: str, world: World, client: httpx.AsyncClient, headers: Any
) -> None:
    """The fresh-user trial: `web-account --role member --unit demo-cb-thon-2 --person demo-cb-thon-1-dv01` exited 0,
    and a token issued so read thôn 1's notices through its inbox. `issue-token` and `web-account` refuse a member's
    or secretary's `--person` the cell does not list (of another cell, or of none), naming `--person`, exit 2 and
    record nothing; `POST /v1/accounts` refuses it naming `person_id`; a member of the cell is taken."""
    env = {**os.environ, "CHIBO_DATABASE_URL": database_url, "CHIBO_AMQP_URL": amqp_url, "CHIBO_LOG_JSON": "true"}

    def web_account(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "services.gateway", "web-account", "--password", "mật-khẩu-dài-đủ", *args]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)

    for person in (world.member_a1, random_id("nobody")):
        for command, role in (("issue-token", "member"), ("web-account", "secretary")):
            sub = random_id("elsewhere")
            args = ("--role", role, "--unit", world.cell_b1, "--person", person, "--sub", sub)
            if command == "issue-token":
                refused = await asyncio.to_thread(issue, env, *args)
            else:
                refused = await asyncio.to_thread(web_account, *args)
            assert refused.returncode == 2, (command, refused.returncode, refused.stdout, refused.stderr)
            said = f"{command}: --person: {person} is not a member of {world.cell_b1}"
            assert said in refused.stderr, refused.stderr
            assert refused.stdout.strip() == ""  # no token
            assert await db.fetchval("SELECT count(*) FROM gateway.account WHERE sub = $1", sub) == 0
    body = {"role": "member", "unit_id": world.cell_b1, "person_id": world.member_a1, "sub": random_id("elsewhere")}
    answer = await client.post("/v1/accounts", json=body, headers=headers["admin"])
    assert answer.status_code == 422 and answer.json()["field"] == "person_id", answer.text
    assert f"{world.member_a1} is not a member of {world.cell_b1}" in answer.json()["message"]
    cell = {"unit_id": world.cell_a1, "person_id": world.secretary_a1}
    known = await client.post("/v1/accounts", json={**body, **cell}, headers=headers["admin"])
    assert known.status_code == 201, known.text
    sub = random_id("member")
    accepted = await asyncio.to_thread(
        issue, env, "--role", "member", "--unit", world.cell_b1, "--person", world.member_b1, "--sub", sub
    )
    assert accepted.returncode == 0, accepted.stderr
    sub = random_id("secretary")
    taken = await asyncio.to_thread(
        web_account, "--role", "secretary", "--unit", world.cell_b1, "--person", world.secretary_b1, "--sub", sub
    )
    assert taken.returncode == 0, taken.stderr
    assert await db.fetchval("SELECT person_id FROM gateway.account WHERE sub = $1", sub) == world.secretary_b1


async def test_a_secretary_account_of_a_member_who_is_not_its_secretary_is_refused_naming_the_option(
    database_url: str, db: asyncpg.Connection, amqp_url: str, world: World, client: httpx.AsyncClient, headers: Any
) -> None:
    """A secretary's `--person` was only checked to be listed by the cell: any plain member of it got a secretary
    account, and wrote as the cell's secretary. `issue-token`, `web-account` and `POST /v1/accounts` refuse a person
    the cell lists in another position, naming `--person` / `person_id` (exit 2, 422), and record nothing; the cell's
    secretary and its deputy secretary (DOMAIN.md: the secretary and deputy run the meetings) are taken."""
    env = {**os.environ, "CHIBO_DATABASE_URL": database_url, "CHIBO_AMQP_URL": amqp_url, "CHIBO_LOG_JSON": "true"}

    def web_account(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "services.gateway", "web-account", "--password", "mật-khẩu-dài-đủ", *args]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)

    plain, committee = world.new_member(world.cell_b1), world.new_member(world.cell_b1, "committee_member")
    for person, position in ((plain, "member"), (committee, "committee_member")):
        for command in ("issue-token", "web-account"):
            sub = random_id("not-secretary")
            args = ("--role", "secretary", "--unit", world.cell_b1, "--person", person, "--sub", sub)
            run = issue if command == "issue-token" else None
            refused = await asyncio.to_thread(run, env, *args) if run else await asyncio.to_thread(web_account, *args)
            assert refused.returncode == 2, (command, refused.returncode, refused.stdout, refused.stderr)
            said = (
                f"{command}: --person: {person} is listed by {world.cell_b1} as {position}, not as its secretary or"
                " deputy secretary"
            )
            assert said in refused.stderr, refused.stderr
            assert refused.stdout.strip() == ""
            assert await db.fetchval("SELECT count(*) FROM gateway.account WHERE sub = $1", sub) == 0
    body = {"role": "secretary", "unit_id": world.cell_b1, "person_id": plain, "sub": random_id("not-secretary")}
    answer = await client.post("/v1/accounts", json=body, headers=headers["admin"])
    assert answer.status_code == 422 and answer.json()["field"] == "person_id", answer.text
    assert f"person_id: {plain} is listed by {world.cell_b1} as member" in answer.json()["message"], answer.text
    assert await db.fetchval("SELECT count(*) FROM gateway.account WHERE sub = $1", body["sub"]) == 0
    as_member = await client.post("/v1/accounts", json={**body, "role": "member"}, headers=headers["admin"])
    assert as_member.status_code == 201, as_member.text  # a plain member's own member account is theirs
    deputy = world.new_member(world.cell_b1, "deputy_secretary")
    sub = random_id("deputy")
    taken = await asyncio.to_thread(
        issue, env, "--role", "secretary", "--unit", world.cell_b1, "--person", deputy, "--sub", sub
    )
    assert taken.returncode == 0, taken.stderr
    kept = await client.post("/v1/accounts", json={**body, "person_id": world.secretary_b1}, headers=headers["admin"])
    assert kept.status_code == 201, kept.text


@pytest.mark.parametrize(
    ("command", "runs", "args", "asks"),
    [
        (
            "web-account",
            "create_checked_web_account",
            ["--role", "secretary", "--unit", "cell-1", "--sub", "sec-1", "--password", "mật-khẩu-dài-đủ"],
            "whether --unit exists",
        ),
        (
            "issue-token",
            "issue_local_token",
            ["--role", "integration", "--unit", "cell-1", "--sub", "feed-1", "--source", "urn:example:feed"],
            "whether --unit exists, to reserve the account's sources",
        ),
    ],
)
def test_a_command_refused_as_an_rpc_caller_says_to_connect_as_the_gateway(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
    runs: str,
    args: list[str],
    asks: str,
) -> None:
    """With a plain `guest` CHIBO_AMQP_URL, meetings refuses the command's check of --unit (not the gateway's broker
    user, CHIBO_RPC_CALLERS): `web-account` said only "this caller may not use this service"; then each command said
    to run it with CHIBO_AMQP_URL_GATEWAY in words of its own, `shared.ops` in others. Now every command line says
    shared.rpc.caller_hint's one line: what it asks, the broker user refused, and the command to run instead."""

    async def refused(settings: object, args: object) -> dict[str, str | None]:
        raise RpcError("forbidden", "this caller may not use this service")

    monkeypatch.setattr(gateway_main, runs, refused)
    monkeypatch.setenv("CHIBO_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")  # no per-service user
    # the gateway's user of another vhost is not taken (shared.config.gateway_caller): the command says to run it so
    monkeypatch.setenv("CHIBO_AMQP_URL_GATEWAY", "amqp://chibo-gateway:pw@127.0.0.1:5672/another")
    code = gateway_main.cli([command, *args])
    said = capsys.readouterr().err
    assert code == 2, said
    assert (
        f"\n{command}: this caller may not use this service. {command} asks meetings ({asks}), which does not take"
        " calls from broker user 'guest' (not in its CHIBO_RPC_CALLERS): run it as a user it lists, such as the"
        " gateway's (after `make up`: `source var/broker-credentials.env &&"
        f" CHIBO_AMQP_URL=$CHIBO_AMQP_URL_GATEWAY python -m services.gateway {command} ...`)\n"
    ) in said, said
