"""`python -m shared.ops`'s exit codes 5 (the service called does not take calls from CHIBO_AMQP_URL's broker user)
and 6 (nothing answers: the service, the broker or the database), one line on stderr each, for the subcommands
beyond `alert-rules` (which alone tested 5; nothing tested 6). A broker or database at a closed port ended in a
traceback and exit code 1, which says "not found"."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from faststream.rabbit import RabbitBroker
from faststream.rabbit.annotations import RabbitMessage

from services.meetings.handlers import RejectionUnreplayable
from shared.contracts import meetings_rpc
from shared.db import apply_migrations, migration_files
from shared.ops.__main__ import main
from shared.rpc import RpcError, RpcMethods, RpcRequest, answer
from shared.topology import RpcQueue
from tests.support.env import isolated_vhost
from tests.support.ops import ROOT, run_ops
from tests.support.running import free_port

HELD = ("--source", "urn:chibo:test", "--event-id", "e-1")


def at_closed_port(url: str) -> str:
    """The URL with its port one nothing listens on."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc
    return urlunsplit(parts._replace(netloc=f"{netloc}:{free_port()}"))


def said_in_one_line(code: int, stderr: str, expected: int, *words: str) -> None:
    """The exit code, and one line on stderr (no traceback) holding each of `words` after the line naming the
    vhost and database the command acts on."""
    assert code == expected, stderr
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr and len(lines) == 2 and lines[0].startswith("ops: acting on "), stderr
    assert all(word in lines[1] for word in words), stderr


class Commands:
    """The command line's main() run in this process (a process of its own takes seconds to import on a busy
    machine; run_ops shows the same end to end), with CHIBO_* variables set for it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self._monkeypatch = monkeypatch
        self._capsys = capsys

    async def run(self, amqp_url: str, database_url: str, *args: str, **env: str) -> tuple[int, str]:
        """(exit code, stderr) of one command."""
        for name, value in {"CHIBO_AMQP_URL": amqp_url, "CHIBO_DATABASE_URL": database_url, **env}.items():
            self._monkeypatch.setenv(name, value)
        self._capsys.readouterr()
        code = await asyncio.to_thread(main, list(args))
        return code, self._capsys.readouterr().err


@pytest.fixture
def commands(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Iterator[Commands]:
    """Commands run in this process; the broker client's log level main() raises is set back afterwards. The root
    logger writes nowhere meanwhile: an earlier test's configure_logging may have left it a handler on a captured
    stream since closed, and the in-process stub services log too (their lines are not the command's: run as a
    program, the command's stderr holds its own only)."""
    connection_log = logging.getLogger("aiormq.connection")
    level = connection_log.level
    root = logging.getLogger()
    handlers = root.handlers[:]
    root.handlers[:] = [logging.NullHandler()]
    try:
        yield Commands(monkeypatch, capsys)
    finally:
        connection_log.setLevel(level)
        root.handlers[:] = handlers


@asynccontextmanager
async def guarded_meetings(amqp_url: str) -> AsyncIterator[None]:
    """meetings' RPC queue answered as the service answers it with CHIBO_RPC_CALLERS=chibo-gateway: every other
    broker user's request `forbidden` (shared.rpc.answer, which services/meetings/consumers.py calls)."""
    broker = RabbitBroker(amqp_url, logger=None)
    methods = RpcMethods("meetings")

    @broker.subscriber(RpcQueue("meetings").rabbit_queue())
    async def on_rpc(request: RpcRequest, message: RabbitMessage) -> dict[str, Any]:
        caller = message.raw_message.user_id
        return await answer(request, methods, caller=caller, allowed_callers=["chibo-gateway"])

    await broker.start()
    try:
        yield
    finally:
        await broker.stop()


async def test_a_broker_or_database_at_a_closed_port_is_exit_6_in_one_line(
    amqp_url: str, database_url: str, commands: Commands
) -> None:
    no_broker, no_database = at_closed_port(amqp_url), at_closed_port(database_url)
    for args in (("held", "retry", *HELD), ("rejections", "replay", "--id", "r-1"), ("dead-letters", "list")):
        said_in_one_line(*await commands.run(no_broker, database_url, *args), 6, "broker", "CHIBO_AMQP_URL")
    for args in (
        ("held", "list"),
        ("rejections", "list"),
        ("outbox", "status", "--service", "meetings"),
        ("alert-rules", "list", "--committee", "c-1"),
    ):
        said_in_one_line(*await commands.run(amqp_url, no_database, *args), 6, "database", "CHIBO_DATABASE_URL")
    # end to end, as an operator sees it: the address, never the URL's password
    for broker, database, args in (
        (no_broker, database_url, ("held", "retry", *HELD)),
        (amqp_url, no_database, ("held", "list")),
    ):
        result = await asyncio.to_thread(run_ops, broker, database, *args)
        said_in_one_line(result.returncode, result.stderr, 6, "does not answer")
        assert "guest:guest@" not in result.stderr


async def test_a_service_that_does_not_answer_is_exit_6_and_one_that_refuses_the_caller_exit_5(
    amqp_url: str, database_url: str, commands: Commands
) -> None:
    with isolated_vhost(amqp_url) as own:  # nothing else answers meetings' RPC there
        said = await commands.run(own, database_url, "held", "retry", *HELD, CHIBO_RPC_TIMEOUT="1")
        said_in_one_line(*said, 6, "meetings", "running")
        async with guarded_meetings(own):
            for args in (
                ("held", "retry", *HELD),
                ("held", "drop", *HELD, "--reason", "Nguồn đã hủy"),
                ("rejections", "replay", "--id", "r-1"),
                ("rejections", "dismiss", "--id", "r-1", "--reason", "Dữ liệu rác"),
            ):
                said = await commands.run(own, database_url, *args)
                # the gateway's commands' one wording (shared.rpc.caller_hint): the user refused, the command to run
                user = urlsplit(own).username or "guest"
                command = f"{args[0]} {args[1]}"
                said_in_one_line(
                    *said,
                    5,
                    f"not allowed: {command} asks meetings, which does not take calls from broker user {user!r}",
                    "(not in its CHIBO_RPC_CALLERS): run it as a user it lists, such as the gateway's",
                    "`source var/broker-credentials.env &&",
                    f" CHIBO_AMQP_URL=$CHIBO_AMQP_URL_GATEWAY python -m shared.ops {command} ...`)",
                )
            result = await asyncio.to_thread(run_ops, own, database_url, "held", "retry", *HELD)
            said_in_one_line(result.returncode, result.stderr, 5, "CHIBO_RPC_CALLERS")


@asynccontextmanager
async def meetings_refusing_replays(amqp_url: str) -> AsyncIterator[None]:
    """meetings' RPC answering ReplayRejection as the service does for a rejection whose body was not kept (an event
    over the size limit): conflict, its English reason and the refusal body_not_kept (services/meetings/rpc.py)."""
    broker = RabbitBroker(amqp_url, logger=None)
    methods = RpcMethods("meetings")

    async def replay(request: meetings_rpc.ReplayRejection) -> dict[str, Any]:
        exc = RejectionUnreplayable(request.rejection_id)
        raise RpcError("conflict", str(exc), field="rejection_id", refusal=exc.refusal)

    methods.add(meetings_rpc.ReplayRejection, replay)

    @broker.subscriber(RpcQueue("meetings").rabbit_queue())
    async def on_rpc(request: RpcRequest, message: RabbitMessage) -> dict[str, Any]:
        return await answer(request, methods, caller=message.raw_message.user_id, allowed_callers=())

    await broker.start()
    try:
        yield
    finally:
        await broker.stop()


async def test_a_replay_the_service_refuses_says_the_services_reason_not_a_fixed_one(
    amqp_url: str, database_url: str, commands: Commands
) -> None:
    """`rejections replay` of a rejection whose body was not kept said "no longer open (replayed or dismissed
    already)" though it is still open; the API answers 409 body_not_kept with the reason. The command says the
    service's own reason and code (exit 3)."""
    await apply_migrations(database_url, schema="gateway", files=migration_files(ROOT / "services" / "gateway"))
    with isolated_vhost(amqp_url) as own:
        async with meetings_refusing_replays(own):
            code, stderr = await commands.run(own, database_url, "rejections", "replay", "--id", "r-cut")
    said_in_one_line(code, stderr, 3, "conflict: rejection r-cut", "size limit", "(body_not_kept)")
    assert "no longer open" not in stderr and "dismissed" not in stderr


def test_the_command_run_in_process_sets_the_broker_clients_log_level_back(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """main() quiets aiormq's connection lines while it runs; run in process (tests/ops/test_ops_times.py) it left
    them at CRITICAL, so a later test of the broker's close lines (tests/shared/test_broker_close_lines.py) saw none
    in the full run. Whatever the command's outcome, the level is set back."""
    import shared.ops.__main__ as cli

    connection_log = logging.getLogger("aiormq.connection")
    monkeypatch.setattr(connection_log, "level", logging.NOTSET)

    async def answered(args: Any, settings: Any) -> dict[str, Any]:
        assert connection_log.level == logging.CRITICAL  # quiet while the command runs
        return {}

    async def unavailable(args: Any, settings: Any) -> dict[str, Any]:
        raise cli.Unavailable("broker down")

    for run, code in ((answered, 0), (unavailable, 6)):
        monkeypatch.setattr(cli, "run", run)
        assert main(["held", "list"]) == code
        assert connection_log.level == logging.NOTSET


@asynccontextmanager
async def meetings_rejecting_again(amqp_url: str) -> AsyncIterator[None]:
    """meetings' RPC judging every replayed rejection and retried held event `rejected` again, as it does an event
    from an integration under a reserved source (source_reserved): an answer, not a refusal of the call."""
    broker = RabbitBroker(amqp_url, logger=None)
    methods = RpcMethods("meetings")
    judged = {
        "index": 0,
        "id": "e-1",
        "source": "urn:chibo:test",
        "type": "meeting.scheduled.v1",
        "outcome": "rejected",
        "reason": "source: urn:chibo: sources are this system's own",
        "field": "source",
        "refusal": {"code": "source_reserved"},
    }

    async def replay(request: meetings_rpc.ReplayRejection) -> dict[str, Any]:
        return judged | {"released": 0}

    async def retry(request: meetings_rpc.RetryHeldEvent) -> dict[str, Any]:
        return judged

    methods.add(meetings_rpc.ReplayRejection, replay)
    methods.add(meetings_rpc.RetryHeldEvent, retry)

    @broker.subscriber(RpcQueue("meetings").rabbit_queue())
    async def on_rpc(request: RpcRequest, message: RabbitMessage) -> dict[str, Any]:
        return await answer(request, methods, caller=message.raw_message.user_id, allowed_callers=())

    await broker.start()
    try:
        yield
    finally:
        await broker.stop()


async def test_a_replay_or_retry_judged_rejected_again_is_exit_3_with_its_answer(
    amqp_url: str, database_url: str, commands: Commands, capsys: pytest.CaptureFixture[str]
) -> None:
    """A trial's `rejections replay` of a rejection under a reserved source was judged `rejected` again and the
    command exited 0, while `held retry` of a rejected event exits 3: a script could not tell a replay that failed
    from one that got through. Both exit 3 now, the answer on stdout, the reason and its code on stderr."""
    await apply_migrations(database_url, schema="gateway", files=migration_files(ROOT / "services" / "gateway"))
    with isolated_vhost(amqp_url) as own:
        async with meetings_rejecting_again(own):
            for args in (("rejections", "replay", "--id", "r-reserved"), ("held", "retry", *HELD)):
                for name, value in {"CHIBO_AMQP_URL": own, "CHIBO_DATABASE_URL": database_url}.items():
                    commands._monkeypatch.setenv(name, value)
                capsys.readouterr()
                code = await asyncio.to_thread(main, list(args))
                said = capsys.readouterr()
                said_in_one_line(code, said.err, 3, "rejected: ", "rejected again", "(source_reserved)")
                # in this process the audit's log line may come first on stdout; run as a program it is on stderr
                assert json.loads(said.out[said.out.index("{\n") :])["outcome"] == "rejected", said.out


def test_the_help_lists_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` says what each exit code means (a script reads them)."""
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "exit codes" in out and all(f"\n  {code}  " in out for code in range(7)), out
