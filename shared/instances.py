"""Every running process of each service, as the gateway sees them: a status heartbeat over RabbitMQ.

The gateway knew one health address per service, so with a second process of a service on another port (deploy/
serve.sh, a replica) it saw only one of them, and called the service down when that one stopped though the other
ran. Services meet only over RabbitMQ: each process publishes a small status message every `status_every_seconds`
on the operations exchange `chibo.ops` (internal, not part of the public contract: no CloudEvent, nobody outside
chibo binds it), routing key `status.<service>`, with its instance id, pid, host, start time, HTTP port and the
summary of its own /health (status, attention lines) and its figures typed (the depth of each dead-letter queue it
reads, with the attention line it said for it: DeadLetterFigure), so the gateway corrects a figure by the figure,
never by reading the words back; a process that stops cleanly says so as its shutdown begins,
on its broker's open connection (say_stopping), or failing that last, on a connection of its own. The gateway reads
them on an exclusive queue of its own (InstanceBoard) and judges each service: `down` when no process reported within
the window, `degraded` when one of them did not (or reports itself not ok), else `ok`. A process killed outright
sends no farewell, so before judging, the gateway asks each process of its own host as `make status` does
(InstanceBoard.check_local): one whose pid is gone (or a zombie) and whose port refuses connections is dead at once,
not after the window (12-20 s of `ok` for a killed service), and said gone, not merely silent, when first looked at
past the window; one merely slow to answer (load) stays reporting until the window.
"""

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import aio_pika
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage, AbstractRobustConnection
from pydantic import BaseModel, Field, ValidationError

from shared.background import raise_if_cancelling
from shared.logs import get_logger
from shared.ops.dead_letters import dead_letter_attention

log = get_logger(__name__)

OPS_EXCHANGE = "chibo.ops"
"""The internal operations exchange (topic, durable): status heartbeats, `status.<service>`."""
STATUS_KEY_PREFIX = "status."


class DeadLetterFigure(BaseModel):
    """One dead-letter queue in a heartbeat: its depth as the process measured it (None: not declared yet) and the
    attention line it said for it (None: none, the queue empty or undeclared), so a reader finds that line by the
    figure, whatever its words."""

    queue: str = Field(max_length=255)
    messages: int | None = Field(default=None, ge=0)
    line: str | None = Field(default=None, max_length=1000)


def dead_letter_figures(counts: Mapping[str, int | None], attention: Sequence[str]) -> list[DeadLetterFigure]:
    """The figures of dead-letter depths (queue -> messages, None: undeclared), each with its line as
    dead_letter_attention says it when `attention` holds that line (else None: the process did not say it)."""
    figures = []
    for queue, count in counts.items():
        said = dead_letter_attention({queue: count})
        figures.append(
            DeadLetterFigure(queue=queue, messages=count, line=said[0] if said and said[0] in attention else None)
        )
    return figures


def _reported_counts(report: Mapping[str, Any]) -> dict[str, int | None] | None:
    """The dead-letter depths of a /health body (`dead_letters`: queue -> messages or None); None when it has none
    readable."""
    counts = report.get("dead_letters")
    if not isinstance(counts, Mapping):
        return None
    return {
        str(queue): count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else None
        for queue, count in counts.items()
    }


class InstanceStatus(BaseModel):
    """One heartbeat of one process: who it is and its own health's summary (`ok` / `degraded`, attention lines)."""

    service: str = Field(max_length=64)
    instance: str = Field(max_length=64)
    pid: int
    host: str = Field(max_length=255)
    started_at: datetime
    sent_at: datetime
    http_port: int | None = None
    status: Literal["ok", "degraded", "stopping"]
    attention: list[str] = Field(default_factory=list, max_length=50)
    report: dict[str, Any] = Field(default_factory=dict)
    """The process's /health body as it would answer now (database, broker, queues, outbox, dead letters, ...)."""
    dead_letters: list[DeadLetterFigure] | None = Field(default=None, max_length=200)
    """The depth of each dead-letter queue the process reads, typed, with the attention line it said for it (the
    words are only shown). None: a heartbeat of a process older than this field (a rolling upgrade), whose figures
    InstanceBoard.record takes from its report's `dead_letters` (every version's /health has them)."""

    database: str | None = Field(default=None, max_length=1000)
    """Its database as its /health says it (`ok`, or `down: <why>`), for the operations page's banner; None: it said
    none (an older process's heartbeat has it taken from its report: with_figures)."""

    def with_figures(self) -> "InstanceStatus":
        """This heartbeat with its typed figures: as sent, or for an older process's (none sent) from its report
        (`dead_letters`, `database`), each dead-letter figure with its line when `attention` holds
        dead_letter_attention's words for it (a line of other words is shown as sent and left to its next
        heartbeat)."""
        update: dict[str, Any] = {}
        counts = _reported_counts(self.report)
        if self.dead_letters is None and counts is not None:
            update["dead_letters"] = dead_letter_figures(counts, self.attention)
        if self.database is None and isinstance(self.report.get("database"), str):
            update["database"] = self.report["database"][:1000]
        return self.model_copy(update=update) if update else self


class InstanceIdentity:
    """This process: a random instance id, its pid, host and start time (UTC)."""

    def __init__(self, service: str, *, http_port: int | None = None) -> None:
        self.service = service
        self.instance = uuid.uuid4().hex
        self.pid = os.getpid()
        self.host = socket.gethostname()
        self.started_at = datetime.now(UTC)
        self.http_port = http_port
        self.said_stopping = False
        """Whether its `stopping` status has been published (say_stopping): keep_reporting's farewell is then not
        sent again."""

    def status(
        self,
        status: Literal["ok", "degraded", "stopping"],
        attention: list[str],
        report: dict[str, Any] | None = None,
    ) -> InstanceStatus:
        """A heartbeat of this process now (`report`: its /health body; its `dead_letters`, queue -> messages as
        check_health measured them, and its `database` become the typed figures, each dead-letter figure with its line
        of `attention`)."""
        counts = _reported_counts(report or {})
        database = (report or {}).get("database")
        return InstanceStatus(
            service=self.service,
            instance=self.instance,
            pid=self.pid,
            host=self.host,
            started_at=self.started_at,
            sent_at=datetime.now(UTC),
            http_port=self.http_port,
            status=status,
            attention=attention[:50],
            report=report or {},
            dead_letters=None if counts is None else dead_letter_figures(counts, attention[:50]),
            database=database[:1000] if isinstance(database, str) else None,
        )


async def _ops_exchange(connection: AbstractConnection) -> tuple[Any, aio_pika.abc.AbstractExchange]:
    channel = await connection.channel()
    exchange = await channel.declare_exchange(OPS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
    return channel, exchange


async def publish_status(connection: AbstractConnection, status: InstanceStatus, *, ttl_seconds: float | None) -> None:
    """Publish one heartbeat on chibo.ops (`status.<service>`, not persistent, expiring after `ttl_seconds`; never
    when None: a `stopping` status stays true however late the gateway reads it)."""
    channel, exchange = await _ops_exchange(connection)
    try:
        await exchange.publish(
            aio_pika.Message(
                status.model_dump_json().encode(),
                content_type="application/json",
                type="chibo.instance.status",
                expiration=None if ttl_seconds is None else max(ttl_seconds, 1.0),
                delivery_mode=aio_pika.DeliveryMode.NOT_PERSISTENT,
            ),
            routing_key=f"{STATUS_KEY_PREFIX}{status.service}",
        )
    finally:
        if not channel.is_closed:
            await channel.close()


async def say_stopping(connection: AbstractConnection, identity: InstanceIdentity, *, timeout: float) -> bool:
    """Publish this process's `stopping` status on `connection` (the broker's own, open while its shutdown begins:
    no new login), within `timeout` seconds; whether it was sent (a failure is logged, never raised: the shutdown
    goes on). A connection that is down (the broker away, reconnecting) is not waited for: keep_reporting's
    farewell tries last."""
    if not connection.connected.is_set():
        log.info("instance_stopping_not_sent", error="broker connection down", via="broker connection")
        return False
    try:
        await asyncio.wait_for(publish_status(connection, identity.status("stopping", []), ttl_seconds=None), timeout)
    except Exception as exc:
        log.info("instance_stopping_not_sent", error=repr(exc), via="broker connection")
        return False
    identity.said_stopping = True
    return True


async def keep_reporting(
    connect: Callable[[], Awaitable[AbstractRobustConnection]],
    identity: InstanceIdentity,
    summary: Callable[[], Awaitable[tuple[bool, list[str], dict[str, Any]]]],
    *,
    every_seconds: float,
    farewell_url: str | None = None,
    farewell_seconds: float = 15.0,
) -> None:
    """Publish this process's heartbeat every `every_seconds` (its health from `summary`: healthy, attention lines,
    the /health body) until cancelled; then, unless say_stopping has said it, one `stopping` status on a connection
    of its own to `farewell_url` within `farewell_seconds` (the service's broker is stopped by then; none sent
    without it). A failed heartbeat (broker down) is logged and tried next time."""
    try:
        while True:
            try:
                healthy, attention, report = await summary()
                status = identity.status("ok" if healthy else "degraded", attention, report)
                await publish_status(await connect(), status, ttl_seconds=every_seconds * 3)
            except Exception as exc:
                raise_if_cancelling()  # a cancel aio-pika turned into a channel error is the stop, not a failure
                log.warning("instance_status_not_sent", error=repr(exc))
            raise_if_cancelling()  # one it swallowed too: else the heartbeat outlives its service's stop
            await asyncio.sleep(every_seconds)
    except asyncio.CancelledError:
        if farewell_url is not None and not identity.said_stopping:
            try:
                await asyncio.wait_for(_farewell(farewell_url, identity), farewell_seconds)
            except Exception as exc:
                log.info("instance_stopping_not_sent", error=repr(exc), via="connection of its own")
        raise


async def _farewell(url: str, identity: InstanceIdentity) -> None:
    # a plain connection: a robust one cut short by the farewell's time limit mid-connect kept reconnecting, by a
    # task of its own, for the rest of the process
    connection = await aio_pika.connect(url)
    try:
        await publish_status(connection, identity.status("stopping", []), ttl_seconds=None)
    finally:
        await connection.close()
    identity.said_stopping = True


class InstanceBoard:
    """The latest heartbeat of each process, by service (the gateway's view): `window_seconds` without one makes a
    process `missing`; a process missing for `forget_seconds`, or `stopping`, is dropped."""

    def __init__(self, *, window_seconds: float = 15.0, forget_seconds: float = 600.0) -> None:
        self.window_seconds = window_seconds
        self.forget_seconds = forget_seconds
        self._latest: dict[str, tuple[InstanceStatus, float]] = {}
        self._stopped: dict[str, tuple[InstanceStatus, float]] = {}
        self._dead: dict[str, datetime] = {}
        """Processes found dead (check_local), and when (UTC): a heartbeat sent before then changes nothing."""
        self._frozen: dict[str, float] = {}
        """Processes of this host found stopped by a signal (check_local), since when (monotonic)."""
        self._channel: Any = None

    def record(self, status: InstanceStatus, *, received: float | None = None) -> None:
        """Keep `status` as its process's latest (monotonic `received`, now when None); an older process's heartbeat
        (no typed figures) is kept with those of its report (InstanceStatus.with_figures)."""
        at = time.monotonic() if received is None else received
        status = status.with_figures()
        if status.status == "stopping":
            self._latest.pop(status.instance, None)
            self._stopped[status.instance] = (status, at)
            return
        if status.instance in self._stopped:
            return  # a heartbeat overtaken by its own stop
        if status.instance in self._dead:
            if status.sent_at <= self._dead[status.instance]:
                return  # sent before it was found dead, delivered after
            del self._dead[status.instance]
        if status.instance not in self._latest:
            # a process started again on the same host and port (`make up` after a kill -9) replaces the old one:
            # only one process can hold a port, so the old one is gone, not silent
            for table in (self._latest, self._stopped):
                for key in [
                    key
                    for key, (old, _) in table.items()
                    if (old.service, old.host, old.http_port) == (status.service, status.host, status.http_port)
                    and old.started_at <= status.started_at
                    and status.http_port is not None
                ]:
                    del table[key]
        self._latest[status.instance] = (status, at)

    def measured_dead_letters(self, counts: Mapping[str, int | None]) -> None:
        """Correct every kept heartbeat by dead-letter depths just measured on the broker (queue -> messages; None:
        unknown, left as reported): a heartbeat is up to `status_every_seconds` old, so right after a purge its
        `3 dead letters in q.dlq` would still make its service `degraded` until the next one. Each measured queue's
        figure takes the new count; the line its process said for it (found by the figure, never by its words) is said
        again with the new count (none when 0): a heartbeat is corrected, never made to say more than it did. Its
        report's `dead_letters` figure is replaced, and a process left with no attention line and its database and
        broker ok reads `ok` again."""
        fresh = {queue: count for queue, count in counts.items() if count is not None}
        if not fresh:
            return
        for key, (status, at) in list(self._latest.items()):
            figures = status.dead_letters or []
            if not any(figure.queue in fresh for figure in figures):
                continue
            stale = {figure.line for figure in figures if figure.queue in fresh and figure.line is not None}
            attention = [line for line in status.attention if line not in stale]
            corrected = []
            for figure in figures:
                if figure.queue not in fresh:
                    corrected.append(figure)
                    continue
                said = dead_letter_attention({figure.queue: fresh[figure.queue]}) if figure.line is not None else []
                attention += said
                corrected.append(
                    DeadLetterFigure(queue=figure.queue, messages=fresh[figure.queue], line=said[0] if said else None)
                )
            report = dict(status.report)
            reported = report.get("dead_letters")
            if isinstance(reported, dict):
                report["dead_letters"] = {queue: fresh.get(queue, count) for queue, count in reported.items()}
            if isinstance(report.get("attention"), list):
                report["attention"] = attention
            verdict = status.status
            sound = all(report.get(dependency, "ok") == "ok" for dependency in ("database", "broker"))
            if verdict == "degraded" and not attention and sound:
                verdict = "ok"
            if isinstance(report.get("status"), str) and verdict == "ok":
                report["status"] = "ok"
            update = {"attention": attention, "report": report, "status": verdict, "dead_letters": corrected}
            self._latest[key] = (status.model_copy(update=update), at)

    def services(self) -> set[str]:
        """The services any process has reported for (and not been forgotten)."""
        self._forget()
        return {status.service for status, _ in (*self._latest.values(), *self._stopped.values())}

    def _forget(self) -> None:
        now = time.monotonic()
        for table in (self._latest, self._stopped):
            for key in [key for key, (_, at) in table.items() if now - at > self.forget_seconds]:
                del table[key]
        for key in [key for key in self._dead if key not in self._latest]:
            del self._dead[key]
        for key in [key for key in self._frozen if key not in self._latest]:
            del self._frozen[key]

    async def check_local(self, *, timeout: float = 1.0) -> None:
        """Find dead the processes of this host, within the window or past it (`make status`'s question: does its
        port answer on 127.0.0.1?): dead when its pid is gone (or a zombie) and a connection to its port is
        refused, both, so a process of another pid or network namespace that shares the host name is never taken
        for dead; a process that does not answer within `timeout` (busy) is left to the window, so load never makes
        a service flap.
        A process of this host whose pid is stopped by a signal (`kill -STOP`, a debugger: state T in
        /proc/<pid>/stat) is `frozen` from now until it runs again: it answers nothing, though its heartbeats are
        not overdue yet."""
        host, now = socket.gethostname(), time.monotonic()
        mine = {
            key: status
            for key, (status, at) in self._latest.items()
            if status.host == host and status.http_port is not None and key not in self._dead
        }
        for key, status in mine.items():
            if _pid_stopped(status.pid):
                if key not in self._frozen:
                    self._frozen[key] = now
                    log.info("instance_found_frozen", instance_service=status.service, pid=status.pid)
            elif self._frozen.pop(key, None) is not None:
                log.info("instance_running_again", instance_service=status.service, pid=status.pid)
        # every process of this host not found dead yet, past the window too: one killed before anybody looked (17 s
        # after a kill -9, its heartbeat past the window) is gone, not merely silent
        local = {key: status for key, status in mine.items() if not pid_alive(status.pid)}
        refused = await asyncio.gather(*(_port_refuses(s.http_port or 0, timeout) for s in local.values()))
        for key, gone in zip(local, refused, strict=True):
            if gone:
                self._dead[key] = datetime.now(UTC)
                log.info("instance_found_dead", instance_service=local[key].service, pid=local[key].pid)

    def answering(self, service: str) -> bool | None:
        """Whether a process of `service` reported within the window and is not frozen (so it answers requests);
        None when no process of it ever reported (an older version, heartbeats off: nothing to judge by)."""
        self._forget()
        now = time.monotonic()
        known = [(key, s, at) for key, (s, at) in self._latest.items() if s.service == service]
        if not known and not any(s.service == service for s, _ in self._stopped.values()):
            return None
        return any(
            now - at <= self.window_seconds and key not in self._dead and key not in self._frozen
            for key, _, at in known
        )

    def latest_report(self, service: str) -> dict[str, Any] | None:
        """The /health body of the process of `service` that reported last within the window and still runs (None:
        none did; a process found dead or frozen by check_local speaks for nobody: its body is last_heard's)."""
        now = time.monotonic()
        fresh = [
            (at, s)
            for key, (s, at) in self._latest.items()
            if s.service == service
            and now - at <= self.window_seconds
            and key not in self._dead
            and key not in self._frozen
        ]
        return max(fresh, key=lambda entry: entry[0])[1].report if fresh else None

    def last_heard(self, service: str) -> tuple[dict[str, Any], float] | None:
        """The /health body of the last heartbeat any process of `service` sent, whatever became of it since, and how
        many seconds ago it came (None: none is known): what a service no process of which reports last said."""
        now = time.monotonic()
        known = [(at, s) for s, at in (*self._latest.values(), *self._stopped.values()) if s.service == service]
        if not known:
            return None
        at, status = max(known, key=lambda entry: entry[0])
        return status.report, max(0.0, now - at)

    def view(self, service: str) -> tuple[Literal["ok", "degraded", "down"], list[dict[str, Any]], list[str]]:
        """(status, instances, attention) of `service`: each known process with `state` `reporting` / `missing` /
        `frozen` / `stopped`, its pid, host, port, start, seconds since its last heartbeat, its own status and lines,
        its dead-letter figures (queue -> messages; None: its heartbeat and report had none) and its database."""
        self._forget()
        now = time.monotonic()
        instances: list[dict[str, Any]] = []
        attention: list[str] = []
        reporting = missing = unhealthy = 0
        entries = [(s, at, False) for s, at in self._latest.values() if s.service == service]
        entries += [(s, at, True) for s, at in self._stopped.values() if s.service == service]
        for status, at, stopped in sorted(entries, key=lambda entry: entry[0].started_at):
            age = now - at
            dead = status.instance in self._dead
            frozen = not stopped and not dead and status.instance in self._frozen
            state = "stopped" if stopped else ("reporting" if age <= self.window_seconds and not dead else "missing")
            if frozen:
                state = "frozen"
            where = f"pid {status.pid} on {status.host}" + (f":{status.http_port}" if status.http_port else "")
            if state == "reporting":
                reporting += 1
                if status.status != "ok":
                    unhealthy += 1
                    # its own lines as its /health says them (once, whichever process says them), else its status
                    attention += [line for line in status.attention if line not in attention]
                    if not status.attention:
                        attention.append(f"{where} {status.status}")
            elif state == "missing":
                missing += 1
                attention.append(f"{where} silent for {age:.0f} s" + (" (its process is gone)" if dead else ""))
            elif state == "frozen":
                missing += 1
                since = now - self._frozen[status.instance]
                attention.append(f"{where} frozen for {since:.0f} s (stopped by a signal; last report {age:.0f} s ago)")
            instances.append(
                {
                    "instance": status.instance,
                    "state": state,
                    "pid": status.pid,
                    "host": status.host,
                    "http_port": status.http_port,
                    "started_at": status.started_at.isoformat(),
                    "seconds_since_report": round(age, 1),
                    "status": status.status,
                    "attention": status.attention,
                    "dead_letters": None
                    if status.dead_letters is None
                    else {figure.queue: figure.messages for figure in status.dead_letters},
                    "database": status.database,
                }
            )
        verdict: Literal["ok", "degraded", "down"]
        if not reporting:
            verdict = "down"
        elif missing or unhealthy:
            verdict = "degraded"
        else:
            verdict = "ok"
        return verdict, instances, attention

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        async with message.process(ignore_processed=True):
            try:
                self.record(InstanceStatus.model_validate_json(message.body))
            except ValidationError as exc:
                log.warning("instance_status_unreadable", error=str(exc)[:300])

    async def listen(self, connection: AbstractRobustConnection, *, owner: str) -> None:
        """Read every heartbeat on an exclusive, auto-deleted queue `<owner>.status.<random>` bound to chibo.ops
        (a robust channel declares it again after a reconnect)."""
        channel = await connection.channel()
        exchange = await channel.declare_exchange(OPS_EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
        queue = await channel.declare_queue(
            f"{owner}.status.{uuid.uuid4().hex[:12]}", exclusive=True, auto_delete=True, durable=False
        )
        await queue.bind(exchange, routing_key=f"{STATUS_KEY_PREFIX}#")
        await queue.consume(self._on_message)
        self._channel = channel

    async def close(self) -> None:
        """Stop reading heartbeats."""
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()
        self._channel = None


def _pid_state(pid: int) -> str | None:
    """The state letter of process `pid` of this host in /proc/<pid>/stat (R, S, T, Z, ...); None when it is gone or
    /proc cannot tell (another system)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            # "pid (comm) S ...": the state follows the command's closing parenthesis (a command may hold spaces)
            return stat.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _pid_stopped(pid: int) -> bool:
    """Whether process `pid` of this host is stopped by a signal (state T, or t when traced, in /proc/<pid>/stat);
    False when it runs, is gone, or /proc cannot tell (another system)."""
    return _pid_state(pid) in ("T", "t")


def pid_alive(pid: int) -> bool:
    """Whether a process `pid` runs on this host (one of another user counts: it exists). A zombie (state Z or X in
    /proc/<pid>/stat: exited, its parent has not reaped it yet) runs nothing: it is not alive, though signal 0 still
    reaches its pid (a trial's meetings, killed with -9 and left unreaped, read `silent`, not gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return _pid_state(pid) not in ("Z", "X")


async def _port_refuses(port: int, timeout: float) -> bool:
    """Whether a TCP connection to 127.0.0.1:`port` is refused (nothing listens); False when it is accepted or does
    not answer within `timeout` (a busy process is not a dead one)."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    except ConnectionRefusedError:
        return True
    except (TimeoutError, OSError):
        return False
    writer.close()
    return False
