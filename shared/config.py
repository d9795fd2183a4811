"""Typed settings shared by every service; each service's config.py extends these."""

import math
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Self, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

HOLD_LIMIT_DEFAULT_SECONDS = 600.0
BROKER_CONSUMER_TIMEOUT_DEFAULT_SECONDS = 1800.0


DAY_SECONDS = 86400.0


def days_covering(seconds: float) -> int:
    """The whole days that cover `seconds`, plus one: a day's prune may run up to a day after the cutoff it uses."""
    return math.ceil(seconds / DAY_SECONDS) + 1


def retention_refusal(setting: str, days: int, floor: int, why: str) -> str | None:
    """The message refusing `setting` (CHIBO_…) at `days` when below `floor` days (None when it is not): names the
    setting, the floor and `why` the floor is what it is."""
    if days >= floor:
        return None
    return f"{setting} is {days}: it must be at least {floor} days, {why}"


class ServiceSettings(BaseSettings):
    """Connection and runtime settings common to all services, read from CHIBO_* variables."""

    model_config = SettingsConfigDict(env_prefix="CHIBO_", env_file=".env", extra="ignore")

    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/chibo"
    db_pool_min: int = 1
    db_pool_max: int = 10
    log_level: str = "INFO"
    log_json: bool | None = None
    prefetch: int = 32
    delivery_limit: int = 5
    graceful_timeout: float = 15.0
    rpc_timeout: float = 5.0
    rpc_callers: list[str] = []
    """AMQP users whose requests on this service's RPC queue are answered, judged by the message's `user_id`, which
    RabbitMQ checks against the publisher's login (issue 11); empty answers any user allowed on the queue."""
    system_publishers: list[str] = []
    """CHIBO_SYSTEM_PUBLISHERS: the AMQP users that are this system's own operators (the broker admin of `make up`),
    judged by the message's `user_id`, which RabbitMQ checks against the publisher's login. Meetings: only they may
    send under a urn:chibo: source on chibo.ingest (the demo seed; empty: no delivery may, a feed's event under one is
    refused naming `source`; the gateway's commands come by RPC, not through there). Every service: a dead letter
    they replayed straight to its queue as themselves (the command line as the admin, before it asked the service) is
    replayed by the service as its owner's (shared.ops.dead_letters.first_publisher)."""
    broker_user_prefix: str = "chibo-"
    """CHIBO_BROKER_USER_PREFIX: how the per-process broker users are named (`<prefix>meetings`, ...;
    deploy/broker_users.sh), from which a service knows who may publish each service's events (event_publishers_of)."""
    event_publishers: dict[str, list[str]] = {}
    """CHIBO_EVENT_PUBLISHERS (JSON: service -> broker users): who may publish the event types a service owns onto
    chibo.events (shared.contracts.registry.OWNERS), judged by the delivery's `user_id`, which RabbitMQ checks against
    the publisher's login; a service not named here gets the default of event_publishers_of."""
    relay_batch_size: int = 1000
    """Outbox rows the relay takes at a time; consecutive rows of one type among them go out as one batch message."""
    relay_poll_seconds: float = 2.0
    outbox_retention_days: int = 7
    statistics_poll_seconds: float = 10.0
    """How often the service checks its tables for ones grown or churned past the analyze threshold (0: never;
    shared/statistics.py)."""
    statistics_analyze_fraction: float = 0.5
    statistics_analyze_min_rows: int = 1000
    """A table is analyzed once rows changed since its last analyze exceed min_rows + fraction × its planned rows. The
    planner scales a table's analyzed row count by its pages now, so what matters is the first analyze of a grown table
    (none, or one of it empty); later ones mostly refresh value distributions, and each costs up to 0.5-0.6 s."""
    bindings_check_seconds: float = 30.0
    """How often a service declares the shared exchanges and binds its consumer queues again (also at once when its
    broker connection is restored): an exchange deleted and declared again has lost its bindings, and its events
    would go to chibo.unrouted until then. Idempotent and cheap (one channel, a few dozen declarations);
    0: only at start."""
    http_host: str = "127.0.0.1"
    http_port: int = 8100
    backlog_attention_seconds: float = 60.0
    """A queue this process reads is named in /health's attention (so in its heartbeat, the gateway's
    /v1/system/health, /app/operations and `make status`) while its oldest delivery in progress, or its waiting
    messages, are older than this (shared/backlog.py, docs/operations.md "Backlog"); 0: never."""
    status_every_seconds: float = 5.0
    """How often each process publishes its status heartbeat on chibo.ops (shared/instances.py: the gateway's view
    of every running process); 0: never."""
    processed_retention_days: int | None = 400
    """How long a consumer's inbox remembers an event it handled (processed_message, by `processed_at`), so a copy of
    it is a duplicate: pruned hourly in batches (shared/retention.py). At least processed_retention_floor_days(); the
    default outlasts a year, so a yearly bulk feed replayed inside the system is still a duplicate. None: kept for
    ever, never pruned (meetings' default: CONTRACT.md answers a public event's id `duplicate` with no time limit)."""
    hold_limit_seconds: float = HOLD_LIMIT_DEFAULT_SECONDS
    """How long one delivery is held through a dependency outage before its failure counts toward its delivery limit
    (shared/outages.py); must stay under broker_consumer_timeout_seconds, or the broker closes the channel first."""
    broker_consumer_timeout_seconds: float = BROKER_CONSUMER_TIMEOUT_DEFAULT_SECONDS
    """RabbitMQ's consumer_timeout (rabbitmq.conf, 30 min by default): an unsettled delivery held longer makes the
    broker close the channel. Only read to check hold_limit_seconds against it."""

    def event_publishers_of(self) -> dict[str, frozenset[str]]:
        """Service -> the broker users whose deliveries of its event types this service applies (never empty):
        CHIBO_EVENT_PUBLISHERS where it names the service, else derived from this process's own login like
        CHIBO_RPC_CALLERS is from the broker users: running as `<prefix><a service>` (per-process users, `make up`,
        the k8s manifests), a service's events come from `<prefix><service>`; otherwise every process shares this
        login (one broker user for all), and only it publishes them."""
        return publishers_by_owner(broker_user_of(self.amqp_url), self.broker_user_prefix, self.event_publishers)

    def processed_retention_floor_days(self) -> tuple[int, str]:
        """The fewest days the inbox keeps an event's id, and why: a delivery left unsettled comes again within the
        broker's consumer timeout (a copy acknowledged late, a relay's publish repeated after a lost confirm)."""
        return days_covering(self.broker_consumer_timeout_seconds), (
            "as a delivery comes again within RabbitMQ's consumer timeout (CHIBO_BROKER_CONSUMER_TIMEOUT_SECONDS)"
        )

    @model_validator(mode="after")
    def _processed_ids_outlive_their_duplicates(self) -> Self:
        """ValueError naming CHIBO_PROCESSED_RETENTION_DAYS below processed_retention_floor_days()."""
        if self.processed_retention_days is None:
            return self
        floor, why = self.processed_retention_floor_days()
        refusal = retention_refusal("CHIBO_PROCESSED_RETENTION_DAYS", self.processed_retention_days, floor, why)
        if refusal:
            raise ValueError(refusal)
        return self

    @model_validator(mode="after")
    def _hold_under_consumer_timeout(self) -> Self:
        """ValueError naming CHIBO_HOLD_LIMIT_SECONDS when it is not above 0 or not under the consumer timeout."""
        if not 0 < self.hold_limit_seconds < self.broker_consumer_timeout_seconds:
            raise ValueError(
                f"hold_limit_seconds (CHIBO_HOLD_LIMIT_SECONDS) is {self.hold_limit_seconds:g}: it must be above 0 and"
                f" under RabbitMQ's consumer timeout, broker_consumer_timeout_seconds"
                f" (CHIBO_BROKER_CONSUMER_TIMEOUT_SECONDS) = {self.broker_consumer_timeout_seconds:g} s, or the broker"
                " closes the channel of a delivery still held"
            )
        return self


CHECKOUT = Path(__file__).resolve().parents[1]
"""The checkout this code runs from: its var/up.env holds the settings `make up` started it with."""
SAVED_SETTINGS = Path("var") / "up.env"
"""Where `make up` keeps the settings it started a checkout with (deploy/settings.sh writes and reads it)."""
READ_SAVED_SETTINGS = (
    "source deploy/settings.sh"
    ' && for name in $(compgen -e | grep "^CHIBO_"); do printf "%s=%s\\0" "$name" "${!name}"; done'
)
"""deploy/settings.sh sourced as make status and deploy/serve.sh source it (the one reader of var/up.env: which names
it keeps, the shell quoting of their values, an exported variable winning), then every CHIBO_ variable it leaves."""


class SavedSettingsError(RuntimeError):
    """var/up.env is there but deploy/settings.sh could not read it."""


def saved_settings(checkout: Path) -> dict[str, str]:
    """The CHIBO_* settings the last `make up` in `checkout` saved in var/up.env that the environment does not set
    (an exported variable wins), read by deploy/settings.sh itself; {} without the file; SavedSettingsError when the
    shell fails on it (its last line of stderr said)."""
    if not (checkout / SAVED_SETTINGS).is_file():
        return {}
    try:
        done = subprocess.run(
            ["bash", "-c", READ_SAVED_SETTINGS], cwd=checkout, capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SavedSettingsError(f"{checkout / SAVED_SETTINGS} could not be read: {type(exc).__name__}") from None
    if done.returncode != 0:
        said = (done.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        raise SavedSettingsError(f"{checkout / SAVED_SETTINGS} could not be read by deploy/settings.sh: {said}")
    pairs = (item.split("=", 1) for item in done.stdout.decode().split("\0") if "=" in item)
    return {name: value for name, value in pairs if name not in os.environ}


BROKER_CREDENTIALS = Path("var") / "broker-credentials.env"
"""Where deploy/broker_users.sh (run by `make up`) keeps each process's broker URL, one `CHIBO_AMQP_URL_<NAME>=amqp://
user:password@host:port/vhost` line each (mode 600)."""
GATEWAY_URL = "CHIBO_AMQP_URL_GATEWAY"
"""The variable naming the gateway's broker user's URL, the one RPC caller the services answer after `make up`."""
READ_BROKER_CREDENTIALS = (
    f"source {BROKER_CREDENTIALS}"
    ' && for name in $(compgen -v | grep "^CHIBO_AMQP_URL_[A-Z]*$"); do printf "%s=%s\\0" "$name" "${!name}"; done'
)
"""var/broker-credentials.env sourced as deploy/process_env.sh sources it (the shell reads its quoting), then every
CHIBO_AMQP_URL_<NAME> it sets."""


class BrokerCredentialsError(SavedSettingsError):
    """var/broker-credentials.env is there but the shell could not read it."""


def broker_credentials(checkout: Path) -> dict[str, str]:
    """The CHIBO_AMQP_URL_<NAME> URLs `make up` wrote to `checkout`'s var/broker-credentials.env (deploy/
    broker_users.sh), read by sourcing it as deploy/process_env.sh does; {} without the file; BrokerCredentialsError
    when the shell fails on it (its last line of stderr said)."""
    if not (checkout / BROKER_CREDENTIALS).is_file():
        return {}
    # the file's values, not an exported variable of the same name
    environment = {name: value for name, value in os.environ.items() if not name.startswith("CHIBO_AMQP_URL_")}
    try:
        done = subprocess.run(
            ["bash", "-c", READ_BROKER_CREDENTIALS],
            cwd=checkout,
            env=environment,
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        said = type(exc).__name__
        raise BrokerCredentialsError(f"{checkout / BROKER_CREDENTIALS} could not be read: {said}") from None
    if done.returncode != 0:
        said = (done.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        raise BrokerCredentialsError(f"{checkout / BROKER_CREDENTIALS} could not be read by the shell: {said}")
    pairs = (item.split("=", 1) for item in done.stdout.decode().split("\0") if "=" in item)
    return {name: value for name, value in pairs if value}


@dataclass(frozen=True)
class RpcCaller:
    """The broker URL a command line asks a service with in place of CHIBO_AMQP_URL's (`url`), and where it came
    from (`origin`: `CHIBO_AMQP_URL_GATEWAY exported` or `… from var/broker-credentials.env`)."""

    url: str
    origin: str


def broker_user_of(amqp_url: str) -> str:
    """The broker user an AMQP URL logs in as (`guest` when it names none, as the client does)."""
    return unquote(urlsplit(amqp_url).username or "guest")


PUBLISHING_SERVICES = ("meetings", "evaluation", "notifications")
"""The services that publish events on chibo.events (each through its outbox relay, as its own broker user)."""
PEER_SERVICES = (*PUBLISHING_SERVICES, "gateway")


def publishers_by_owner(
    login: str, prefix: str, given: Mapping[str, Sequence[str]] | None = None
) -> dict[str, frozenset[str]]:
    """Service -> the broker users that may publish its events, for a process logged in as `login` with broker user
    prefix `prefix`: `given` (CHIBO_EVENT_PUBLISHERS) where it names a service, else `<prefix><service>` when `login`
    is one of the per-process users (`<prefix><peer>`), else `login` (every process shares one broker user)."""
    per_process = any(login == f"{prefix}{peer}" for peer in PEER_SERVICES)
    found = {service: frozenset({f"{prefix}{service}" if per_process else login}) for service in PUBLISHING_SERVICES}
    for service, users in (given or {}).items():
        found[service] = frozenset(users)
    return found


def same_broker(one: str, other: str) -> bool:
    """Whether two AMQP URLs name the same broker host, port (5672, 5671 for amqps, when not given) and vhost."""

    def where(url: str) -> tuple[str, int, str]:
        parts = urlsplit(url)
        return (parts.hostname or "localhost", parts.port or (5671 if parts.scheme == "amqps" else 5672), vhost_of(url))

    return where(one) == where(other)


def gateway_caller(amqp_url: str, rpc_callers: Sequence[str], *, checkout: Path = CHECKOUT) -> RpcCaller | None:
    """The gateway's broker user, for a command line that asks a service as the gateway does (the services answer
    RPCs only from CHIBO_RPC_CALLERS, the gateway's user after `make up`): CHIBO_AMQP_URL_GATEWAY exported, else
    `checkout`'s var/broker-credentials.env. None (keep `amqp_url`, CHIBO_AMQP_URL) when there is none, when it names
    another broker host, port or vhost than `amqp_url`, or when `amqp_url`'s user is the gateway's or one of
    `rpc_callers` (CHIBO_RPC_CALLERS as this command sees it). BrokerCredentialsError when the file is unreadable."""
    url, origin = os.environ.get(GATEWAY_URL), f"{GATEWAY_URL} exported"
    if not url:
        url, origin = broker_credentials(checkout).get(GATEWAY_URL), f"{GATEWAY_URL} from {BROKER_CREDENTIALS}"
    if not url or not same_broker(url, amqp_url):
        return None
    user = broker_user_of(amqp_url)
    if user == broker_user_of(url) or user in rpc_callers:
        return None
    return RpcCaller(url=url, origin=origin)


@contextmanager
def amqp_url_for_block(url: str | None) -> Iterator[None]:
    """CHIBO_AMQP_URL set to `url` for the block (left alone when None), then as it was."""
    if url is None:
        yield
        return
    before = os.environ.get("CHIBO_AMQP_URL")
    os.environ["CHIBO_AMQP_URL"] = url
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("CHIBO_AMQP_URL", None)
        else:
            os.environ["CHIBO_AMQP_URL"] = before


@contextmanager
def saved_environment(saved: Mapping[str, str]) -> Iterator[None]:
    """The environment with `saved` (saved_settings) under it for the block, as a script sourcing deploy/env.sh sees
    it: a variable set in the environment wins. The environment is left as it was after the block."""
    added = {name: value for name, value in saved.items() if name not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def service_http_port(service: str, settings: ServiceSettings) -> int:
    """The HTTP port (/health, /metrics) a process of `service` listens on, and its `health` command asks:
    CHIBO_HTTP_PORT when set (one process's own, as deploy/up.sh and deploy/serve.sh start each), else
    CHIBO_<SERVICE>_PORT (exported, or this checkout's var/up.env as `make up` saved it, inside checkout_system),
    else the service's default (its Settings.http_port: gateway 8000, meetings 8101, evaluation 8102, notifications
    8103). ValueError when CHIBO_<SERVICE>_PORT is not a port number."""
    if "http_port" in settings.model_fields_set:
        return settings.http_port
    name = f"CHIBO_{service.upper()}_PORT"
    given = os.environ.get(name, "").strip()
    if not given:
        return settings.http_port
    if not (re.fullmatch(r"[0-9]{1,5}", given) and 1 <= int(given) <= 65535):
        raise ValueError(f"{name} is {given!r}: not a port number (1-65535)")
    return int(given)


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


@contextmanager
def checkout_system(
    who: str,
    factory: Callable[[], SettingsT],
    *,
    checkout: Path = CHECKOUT,
    say: bool = True,
    as_gateway: bool = False,
) -> Iterator[SettingsT]:
    """A command line's settings (`factory()`) on the system of `checkout` (exported, else its var/up.env, else the
    defaults), with that environment kept for the block; the line naming the vhost and database (acting_on, `who` its
    prefix) written to stderr first unless `say` is False (a service's `serve` and `health`, which act on neither).
    With `as_gateway` (a command that asks a service's RPC as the gateway does) CHIBO_AMQP_URL is the gateway's
    broker user's for the block when gateway_caller finds one. SavedSettingsError (BrokerCredentialsError) when
    deploy/settings.sh cannot read var/up.env (the shell var/broker-credentials.env); factory()'s own error (a
    ValidationError) as it raised it."""
    saved = saved_settings(checkout)
    with saved_environment(saved):
        caller = None
        if as_gateway:
            given = factory()
            caller = gateway_caller(given.amqp_url, given.rpc_callers, checkout=checkout)
        with amqp_url_for_block(caller.url if caller else None):
            settings = factory()
            if say:
                sys.stderr.write(acting_on(settings, saved, who=who, caller=caller) + "\n")
            yield settings


def vhost_of(amqp_url: str) -> str:
    """The RabbitMQ virtual host an AMQP URL names (`/` when its path is empty or `/`, `%2F` read as `/`)."""
    path = urlsplit(amqp_url).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def database_of(database_url: str) -> str:
    """The PostgreSQL database a URL names (without a path: the user's name, as libpq takes it)."""
    parts = urlsplit(database_url)
    return unquote(parts.path[1:]) if len(parts.path) > 1 else (parts.username or "postgres")


def acting_on(
    settings: ServiceSettings, saved: Mapping[str, str], *, who: str = "ops", caller: RpcCaller | None = None
) -> str:
    """The line a command line (`who`: `ops`, `gateway issue-token`...) writes first on stderr: the broker vhost,
    broker user and database it acts on, their URLs without their passwords, and where each came from (exported, this
    checkout's var/up.env, or the default; `caller`'s origin when it acts as the gateway's broker user)."""

    def origin(name: str) -> str:
        return (
            f"{name} from {SAVED_SETTINGS}"
            if name in saved
            else f"{name} {'exported' if name in os.environ else 'default'}"
        )

    broker = (
        f"{caller.origin}, the gateway's user: the services answer RPCs only from it"
        if caller is not None
        else origin("CHIBO_AMQP_URL")
    )
    return (
        f"{who}: acting on broker vhost {vhost_of(settings.amqp_url)!r} as user"
        f" {broker_user_of(settings.amqp_url)!r} at {url_without_password(settings.amqp_url)} ({broker})"
        f" and database {database_of(settings.database_url)!r} at {url_without_password(settings.database_url)}"
        f" ({origin('CHIBO_DATABASE_URL')})"
    )


def url_without_password(url: str) -> str:
    """`url` as it may be shown or logged: a password in it (`user:secret@`, `?password=secret`) as `***`."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    if at and ":" in userinfo:
        parts = parts._replace(netloc=f"{userinfo.split(':', 1)[0]}:***@{host}")
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    return urlunsplit(parts._replace(query=query))
