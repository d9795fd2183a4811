"""The gateway process: `create_app()` for uvicorn, and the command line."""

import argparse
import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from aio_pika.exceptions import AMQPError
from fastapi import FastAPI
from starlette.types import Scope

from services.gateway.auth import Role
from services.gateway.bootstrap import SERVICE, SERVICE_DIR, gateway_lifespan
from services.gateway.config import GatewaySettings, load_settings
from services.gateway.handlers import (
    TtlCache,
    UnitDirectory,
    create_account,
    require_member,
    require_unit,
    sync_registered_sources,
)
from services.gateway.http import build_router
from services.gateway.http.contract import install_event_schemas
from services.gateway.http.errors import install_error_handlers
from services.gateway.http.observability import instrument
from services.gateway.limits import AnonymousGuard, AuditTrail, BodySizeLimit
from services.gateway.repository import AuditLog, PgAccountRepository, SigningKeyMismatch, signing_secret
from services.gateway.web import cli as web_cli
from services.gateway.web import install_web
from services.gateway.web.errors import scope_page, status_page
from shared.cli import run_service_cli
from shared.config import broker_user_of
from shared.db import create_pool
from shared.rpc import RpcClient, RpcError, ServiceUnavailable, caller_hint
from shared.runtime import create_broker, migrate
from shared.telemetry import configure_tracing
from shared.text import BLANK_SAID, has_text

T = TypeVar("T")

DESCRIPTION = (
    "The front door of chibo: ingestion of CloudEvents from other systems, the cell secretary's commands, "
    "and scoped reads for members, secretaries, committee officers, operators and administrators. "
    "Every call needs a bearer token; errors share one shape (`code`, `message`, `field`, `service`). "
    "A query parameter a /v1 route does not read (a misspelt `ordr`) or one given twice is refused, never ignored: "
    "422 `invalid` naming it in `field` (`query.ordr`), as a body's unexpected field is."
)


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """The FastAPI application; connections are made in its lifespan, not here."""
    settings = settings or load_settings()
    configure_tracing(SERVICE)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with gateway_lifespan(app, settings):
            yield

    app = FastAPI(
        title="chibo gateway",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by the web app from local files, no CDN
        redoc_url=None,
    )
    app.include_router(build_router())
    install_web(app)
    install_error_handlers(app, page=status_page)  # /app answers Vietnamese pages, /v1 JSON
    install_event_schemas(app)

    def audit_log(scope: Scope) -> AuditLog | None:
        state = getattr(scope["app"].state, "gateway", None)
        return state.audit if state is not None else None

    def anonymous(scope: Scope) -> AnonymousGuard | None:
        state = getattr(scope["app"].state, "gateway", None)
        return state.anonymous if state is not None else None

    # the audit trail is outermost, so it records the status the client really got (413 included)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        max_depth=settings.max_json_depth,
        depth_checked_by_route=frozenset({"/v1/events"}),
        reported_by_route=frozenset({"/v1/events"}),  # a body over the limit is a stored rejection too
        page=scope_page,
    )
    app.add_middleware(AuditTrail, audit_log=audit_log, anonymous=anonymous)
    instrument(app)  # outermost: metrics and logs see the status the client got, with its correlation id
    return app


class SourcesNotReserved(Exception):
    """`issue-token` could not reach meetings (RabbitMQ or the service) to reserve the account's sources, so it
    recorded nothing."""


class UnitNotChecked(Exception):
    """`issue-token` could not reach meetings (RabbitMQ or the service) to check that `--unit` names a unit, so it
    recorded nothing."""


OPTIONS = {"unit_id": "--unit", "person_id": "--person", "days": "--days", "sources": "--source", "sub": "--sub"}
OPTIONS["province_wide"] = "--province-wide"
"""The `issue-token` option each account field comes from: a refusal names the option the person typed."""
NAMED_BY = {"sub": "sub", "unit_id": "unit", "person_id": "person"}
"""The account fields a command line names (field -> its `args` attribute), each some visible text when given."""


def check_named(args: argparse.Namespace) -> None:
    """RpcError `invalid` naming the first of `--sub`, `--unit`, `--person` given blank (shared.text.has_text: only
    spaces or invisible characters, such as U+200B), before anything is asked or recorded: a `--sub` of a zero-width
    space recorded an account no one could see the name of."""
    for field, attribute in NAMED_BY.items():
        value = getattr(args, attribute, None)
        if value is not None and not has_text(value):
            raise RpcError("invalid", f"{field}: {BLANK_SAID}", field=field)


def said_as_option(exc: RpcError) -> str:
    """A refusal of `issue-token` as its user reads it: `unit_id: …` becomes `--unit: …` (OPTIONS)."""
    message = str(exc)
    field, said, rest = message.partition(": ")
    return f"{OPTIONS[field]}: {rest}" if said and field in OPTIONS else message


@asynccontextmanager
async def meetings_rpc(settings: GatewaySettings, unreachable: type[Exception]) -> AsyncIterator[RpcClient]:
    """An RpcClient over a broker connection of this command, as the gateway's broker user calls meetings; raises
    `unreachable` when RabbitMQ does not answer within CHIBO_RPC_TIMEOUT or a call finds meetings unavailable."""
    broker = create_broker(settings, service=SERVICE)
    try:
        try:
            async with asyncio.timeout(settings.rpc_timeout):
                await broker.start()
        except (TimeoutError, OSError, AMQPError) as exc:
            raise unreachable(f"RabbitMQ did not answer ({type(exc).__name__}: {exc})") from exc
        try:
            yield RpcClient(broker, timeout=settings.rpc_timeout, user_id=broker_user_of(settings.amqp_url))
        except ServiceUnavailable as exc:
            raise unreachable(str(exc)) from exc
    finally:
        await broker.stop()


async def check_unit(settings: GatewaySettings, unit_id: str) -> None:
    """RpcError `invalid` naming `unit_id` (handlers.require_unit) when meetings knows no unit `unit_id`, asked over
    a broker connection of this command; UnitNotChecked when RabbitMQ or meetings does not answer within
    CHIBO_RPC_TIMEOUT."""
    async with meetings_rpc(settings, UnitNotChecked) as rpc:
        await require_unit(UnitDirectory(rpc, TtlCache(seconds=0)).get, unit_id)


async def check_account_unit(settings: GatewaySettings, args: argparse.Namespace) -> None:
    """check_unit for `--unit`, then, for a member or secretary, that the cell lists `--person`
    (handlers.require_member: RpcError `invalid` naming `person_id`), over one broker connection of this command;
    UnitNotChecked when RabbitMQ or meetings does not answer within CHIBO_RPC_TIMEOUT."""
    async with meetings_rpc(settings, UnitNotChecked) as rpc:
        await require_unit(UnitDirectory(rpc, TtlCache(seconds=0)).get, args.unit)
        await require_member(rpc, role=Role(args.role), unit_id=args.unit, person_id=args.person)


async def create_checked_web_account(settings: GatewaySettings, args: argparse.Namespace) -> dict[str, str | None]:
    """`web-account`'s work: `--unit` must name a unit meetings knows and a member's or secretary's `--person` be a
    member of it (check_account_unit, RpcError / UnitNotChecked, before anything is recorded), then
    web_cli.create_web_account; check_named first."""
    check_named(args)
    if args.unit:
        await check_account_unit(settings, args)
    return await web_cli.create_web_account(settings, args)


async def issue_local_token(settings: GatewaySettings, args: argparse.Namespace) -> dict[str, object]:
    """`issue-token`'s work on its parsed `args`: {"sub", "role", "unit_id", "sources", "token"}; RpcError,
    SigningKeyMismatch, SourcesNotReserved, UnitNotChecked.

    `--unit` must name a unit meetings knows (check_unit, before anything is recorded): a token for a unit that does
    not exist would be refused everywhere. A member's or secretary's `--person` must be a member of that cell
    (check_account_unit): a token for another cell's member read that cell's notices through the inbox.

    An account with sources (or one that held some before this change) is recorded in one transaction with the
    SyncSources call the running gateway makes after `POST /v1/accounts`, so its sources are reserved in meetings
    before the token is printed. Meetings is told first and the account committed after: when meetings cannot be
    reached the transaction is rolled back and nothing is recorded (run the command again once it answers), never
    an account whose sources stay open to other senders until the gateway's next periodic sync. (Should the commit
    itself fail after the call, meetings holds sources of no account until that sync releases them: harmless.)

    `--sub`, `--unit` and `--person` given blank are refused first (check_named)."""
    check_named(args)
    if args.unit:
        await check_account_unit(settings, args)
    await migrate(settings, schema=SERVICE, service_dir=SERVICE_DIR)
    pool = await create_pool(settings.database_url, schema=SERVICE, min_size=1, max_size=2)
    try:
        secret = await signing_secret(pool, settings.jwt_secret)
        role = Role(args.role)
        sub = args.sub or (f"{role.value}-{args.person or args.unit or 'local'}")
        async with pool.acquire() as conn, conn.transaction():
            accounts = PgAccountRepository(conn)
            previous = await accounts.get(sub)
            account, token = await create_account(
                accounts,
                secret=secret,
                issuer=settings.jwt_issuer,
                sub=sub,
                role=role,
                unit_id=args.unit,
                person_id=args.person,
                days=args.days or settings.token_days,
                max_days=settings.token_max_days,
                province_wide=args.province_wide,
                sources=getattr(args, "sources", None) or (),
            )
            if account.sources or (previous is not None and previous.sources):
                await reserve_sources(settings, accounts)
    finally:
        await pool.close()
    return {
        "sub": account.sub,
        "role": account.role,
        "unit_id": account.unit_id,
        "sources": list(account.sources),
        "token": token,
    }


async def reserve_sources(settings: GatewaySettings, accounts: PgAccountRepository) -> None:
    """Send meetings the registered sources as `accounts` reads them (sync_registered_sources, the gateway's own
    SyncSources call) over a broker connection of this command; SourcesNotReserved when RabbitMQ or meetings does
    not answer within CHIBO_RPC_TIMEOUT."""
    async with meetings_rpc(settings, SourcesNotReserved) as rpc:
        await sync_registered_sources(accounts, rpc)


class CommandFailed(Exception):
    """A command line's failure already said on stderr: its exit code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def asking_meetings(
    command: str, asks: str, unit: str | None, undone: str, run: Callable[[GatewaySettings], Coroutine[Any, Any, T]]
) -> T:
    """`run` on the settings for `python -m services.gateway <command>`, which asks meetings `asks` about --unit
    (`unit`): its result; CommandFailed after one line on stderr when meetings refused (2: the refusal, naming the
    option, and shared.rpc.caller_hint when it was as an RPC caller) or could not be asked (3: `undone`, such as
    "Nothing was recorded", and to run it again). Any other exception of `run` is raised."""
    settings = load_settings()
    try:
        return asyncio.run(run(settings))
    except RpcError as exc:
        hint = ". " + caller_hint("services.gateway", command, "meetings", settings.amqp_url, asks)
        print(f"{command}: {said_as_option(exc)}{hint if exc.code == 'forbidden' else ''}", file=sys.stderr)
        raise CommandFailed(2) from None
    except UnitNotChecked as exc:
        print(
            f"{command}: --unit: meetings could not be asked whether the unit {unit} exists: {exc}. {undone}; run the"
            " command again once RabbitMQ and the meetings service answer.",
            file=sys.stderr,
        )
        raise CommandFailed(3) from None


def _configure_issue_token(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--role", required=True, choices=[role.value for role in Role])
    parser.add_argument("--unit", help="the cell (member, secretary) or committee (officer)")
    parser.add_argument("--person", help="the member id, for the inbox")
    parser.add_argument("--sub", help="the account's subject (default: role and person or unit)")
    parser.add_argument("--days", type=int, help="validity in days (at most CHIBO_TOKEN_MAX_DAYS, 30)")
    parser.add_argument(
        "--province-wide", action="store_true", help="an integration account that may write anywhere in the tree"
    )
    parser.add_argument(
        "--source",
        dest="sources",
        action="append",
        metavar="URI",
        help="a CloudEvents source a scoped integration account's events may carry (repeatable); no other sender may"
        " use it",
    )
    parser.add_argument("--json", action="store_true", help="print the account and token as JSON")


GATEWAY_COMMANDS = ("issue-token", "web-account")
"""The command lines that ask meetings as the running gateway does, so run as its broker user (CHIBO_RPC_CALLERS)."""


def cli(argv: Sequence[str] | None = None) -> int:
    """`python -m services.gateway serve | migrate | health | issue-token ...`."""

    def issue(args: argparse.Namespace) -> int:
        asks = "whether --unit exists, to reserve the account's sources"
        try:
            result = asking_meetings(
                "issue-token",
                asks,
                args.unit,
                "Nothing was recorded and no token issued",
                lambda settings: issue_local_token(settings, args),
            )
        except CommandFailed as exc:
            return exc.code
        except SigningKeyMismatch as exc:
            print(f"issue-token: {exc}", file=sys.stderr)
            return 2
        except SourcesNotReserved as exc:
            print(
                f"issue-token: the account's sources could not be reserved in meetings: {exc}. Nothing was recorded"
                " and no token issued; run the command again once RabbitMQ and the meetings service answer.",
                file=sys.stderr,
            )
            return 3
        print(json.dumps(result) if args.json else result["token"])
        return 0

    def web_account(args: argparse.Namespace) -> int:
        try:
            result = asking_meetings(
                "web-account",
                "whether --unit exists",
                args.unit,
                "Nothing was recorded",
                lambda settings: create_checked_web_account(settings, args),
            )
        except CommandFailed as exc:
            return exc.code
        except ValueError as exc:
            print(f"web-account: {exc}", file=sys.stderr)
            return 2
        print(json.dumps(result))
        return 0

    return run_service_cli(
        name=SERVICE,
        app_path="services.gateway.main:create_app",
        settings_factory=load_settings,
        service_dir=SERVICE_DIR,
        extra=[
            ("issue-token", "record a local account and print its bearer token", _configure_issue_token, issue),
            ("web-account", "record a person's account and set their web password", web_cli.configure, web_account),
        ],
        as_gateway=GATEWAY_COMMANDS,
        argv=argv,
    )
