"""The fault suite: the same generated backfill twice, once quietly and once under faults; the outcomes must agree.

The backfill (a province and its month-start meetings, tests/benchmarks/month_start.py) is sent in batches of 250,
alternately over AMQP (chibo.ingest) and HTTP (POST /v1/events), and every `single_every`-th batch one event per
message instead (structured mode, by AMQP with the type as routing key or by one POST each, the two routes in turn);
each batch or group is re-sent until it is confirmed (a re-send is a duplicate, which must change nothing). The
faulty run splits it into slices, one per fault, and injects the fault while its slice is being sent: kill -9 of
each service in turn (restarted), a restart of the RabbitMQ app (a private node, never the shared broker),
PostgreSQL connections cut (pg_terminate_backend on the run's own database only), and the bad inputs of issue 10 on
both routes. It then prints one line per fault: events in, applied, rejected, held, lost, duplicated effects; and
compares the final state with the quiet run. Each run prints its duration, events/s and CPU seconds per service.
"""

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import httpx
import psutil

from deploy.mailsink import envelope_recipients
from shared.envelope import BATCH_CONTENT_TYPE, CLOUDEVENT_CONTENT_TYPE, now
from shared.topology import CONSUMER_QUEUES, INGEST_EXCHANGE, declare_topology
from tests.benchmarks.month_start import month_start, province
from tests.chaos.broker import PrivateBroker
from tests.support import quiet
from tests.support.system import RunningSystem, issue_token

BATCH = 250
SINGLE_EVERY = 15
"""Every 15th batch goes one event per message (about 7 % of the events), by the two routes in turn."""
LANES = 4
"""Batches in flight at once (meetings takes 4 deliveries at a time; an HTTP batch waits for its answer)."""
SOURCE = "urn:bench"
SCHEMAS = ("meetings", "evaluation", "notifications")


ALERTED_CELLS = 20
"""Cells whose members have e-mail and hold a meeting three days ahead, so alerts are raised and mailed."""


def backfill(cells: int) -> list[dict[str, Any]]:
    """The generated events: units and members, every cell's November meeting, complete; and, for the first
    cells, e-mail addresses and a meeting three days from now (alerts to every expected member, mailed)."""
    first = province(cells)
    for event in first:
        data = event["data"]
        if event["type"] == "member.upserted.v1" and int(data["cell_id"][1:]) < ALERTED_CELLS:
            data["email"] = f"{data['id']}@chibo.example.org"
    events = first + month_start(cells, first_seq=len(first) + 1)
    ahead = (now() + timedelta(days=3)).replace(second=0, microsecond=0)
    for cell in range(min(cells, ALERTED_CELLS)):
        events.append(
            {
                "specversion": "1.0",
                "id": f"bench-ahead-{cell}",
                "source": SOURCE,
                "type": "meeting.scheduled.v1",
                "time": now().replace(microsecond=0).isoformat(),
                "data": {
                    "meeting_id": f"c{cell}-ahead",
                    "cell_id": f"c{cell}",
                    "kind": "regular",
                    "starts_at": ahead.isoformat(),
                    "location": "Nhà văn hóa",
                    "agenda": ["Nhiệm vụ tháng tới"],
                },
            }
        )
    return events


@dataclass
class Outcome:
    """One fault's line."""

    fault: str
    events_in: int
    applied: int = 0
    rejected: int = 0
    held: int = 0
    lost: int = 0
    duplicated: int = 0
    note: str = ""

    def line(self) -> str:
        """`fault: in N, applied N, rejected N, held N, lost N, duplicated N`."""
        text = (
            f"{self.fault:<28} in {self.events_in:>7}, applied {self.applied:>7}, rejected {self.rejected:>4},"
            f" held {self.held:>4}, lost {self.lost}, duplicated {self.duplicated}"
        )
        return text + (f"  ({self.note})" if self.note else "")


@dataclass
class Feeder:
    """Sends batches by both routes, and every `single_every`-th batch one event per message, `lanes` at a time;
    re-sends each batch or group until it is confirmed."""

    amqp_url: str
    gateway_url: str
    token: str
    single_every: int = SINGLE_EVERY
    lanes: int = LANES
    resent: int = 0
    throttled: int = 0
    """429 answers waited out (the integration account's rate limit)."""
    sent: dict[str, int] = field(default_factory=dict)
    """Events sent (first attempts) by `amqp batch`, `http batch`, `amqp single`, `http single`."""
    _amqp: Any = None
    _http: httpx.AsyncClient | None = None
    _counter: int = field(default=0)
    _connecting: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def close(self) -> None:
        """Close the AMQP connection and the HTTP client."""
        if self._amqp is not None and not self._amqp.is_closed:
            await self._amqp.close()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def send(self, events: list[dict[str, Any]]) -> None:
        """Every event, in batches alternating between AMQP and HTTP, some batches as single events; up to `lanes`
        batches in flight at once, started in order (as several feeds at once: a later batch may overtake)."""
        gate = asyncio.Semaphore(self.lanes)
        async with asyncio.TaskGroup() as group:
            for start in range(0, len(events), BATCH):
                batch = events[start : start + BATCH]
                self._counter += 1
                if self.single_every and self._counter % self.single_every == 0:
                    amqp = (self._counter // self.single_every) % 2 == 1
                    route, kind = (self.amqp_singles, "amqp single") if amqp else (self.http_singles, "http single")
                else:
                    amqp = self._counter % 2 == 1
                    route, kind = (self.amqp, "amqp batch") if amqp else (self.http, "http batch")
                await gate.acquire()
                group.create_task(self._deliver(batch, route, kind, gate))

    async def _deliver(
        self,
        batch: list[dict[str, Any]],
        route: Callable[[list[dict[str, Any]]], Coroutine[Any, Any, None]],
        kind: str,
        gate: asyncio.Semaphore,
    ) -> None:
        """One batch or group, re-sent until it is confirmed (about 10 minutes at most)."""
        try:
            for attempt in range(240):
                try:
                    await route(batch)
                    break
                except Exception:
                    self.resent += 1
                    await asyncio.sleep(min(0.5 * (attempt + 1), 3.0))
            else:
                raise RuntimeError("a batch could not be sent for about 10 minutes")
            self.sent[kind] = self.sent.get(kind, 0) + len(batch)
        finally:
            gate.release()

    async def _exchange(self) -> Any:
        async with self._connecting:  # one connection for every lane
            if self._amqp is None or self._amqp.is_closed:
                self._amqp = await aio_pika.connect(self.amqp_url, timeout=10)
                self._channel = await self._amqp.channel(publisher_confirms=True)
            return await self._channel.get_exchange(INGEST_EXCHANGE)

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=60)
        return self._http

    async def amqp(self, batch: list[dict[str, Any]]) -> None:
        """One batch message on chibo.ingest, persistent, with a publisher confirm."""
        try:
            exchange = await self._exchange()
            await exchange.publish(
                aio_pika.Message(
                    json.dumps(batch, ensure_ascii=False).encode(),
                    content_type=BATCH_CONTENT_TYPE,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key="batch",
                timeout=15,
            )
        except Exception:
            await self.close()
            self._amqp = None
            raise

    async def amqp_singles(self, batch: list[dict[str, Any]]) -> None:
        """Each event as its own message (routing key = its type), persistent, each confirmed."""
        try:
            exchange = await self._exchange()
            for item in batch:
                await exchange.publish(
                    aio_pika.Message(
                        json.dumps(item, ensure_ascii=False).encode(),
                        content_type=CLOUDEVENT_CONTENT_TYPE,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=str(item["type"]),
                    timeout=15,
                )
        except Exception:
            await self.close()
            self._amqp = None
            raise

    async def http(self, batch: list[dict[str, Any]]) -> None:
        """One batch POSTed to /v1/events; anything but 200 is re-sent."""
        await self._post(json.dumps(batch, ensure_ascii=False).encode(), BATCH_CONTENT_TYPE)

    async def http_singles(self, batch: list[dict[str, Any]]) -> None:
        """Each event POSTed alone (structured mode), in order; anything but 200 re-sends the group."""
        for item in batch:
            await self._post(json.dumps(item, ensure_ascii=False).encode(), CLOUDEVENT_CONTENT_TYPE)

    async def _post(self, body: bytes, content_type: str) -> None:
        """POST until answered 200; a 429 (the account's rate limit) waits as told and sends the same body again,
        anything else fails (the caller re-sends the batch or group)."""
        while True:
            try:
                response = await self._client().post(
                    self.gateway_url + "/v1/events",
                    content=body,
                    headers={"Authorization": f"Bearer {self.token}", "Content-Type": content_type},
                )
            except httpx.HTTPError:
                if self._http is not None:  # a gateway killed mid-request: start afresh
                    await self._http.aclose()
                    self._http = None
                raise
            if response.status_code != 429:
                break
            self.throttled += 1
            wait = response.headers.get("retry-after", "1")
            await asyncio.sleep(min(float(wait) if wait.isdigit() else 1.0, 10.0))
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.text[:200]}")

    async def raw(self, body: bytes, *, route: str) -> None:
        """One bad body by one route (HTTP answers 200 or a 4xx naming the body; both are fine)."""
        if route == "amqp":
            exchange = await self._exchange()
            message = aio_pika.Message(
                body, content_type=CLOUDEVENT_CONTENT_TYPE, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
            )
            await exchange.publish(message, routing_key="meeting.scheduled.v1", timeout=15)
            return
        response = await self._client().post(
            self.gateway_url + "/v1/events",
            content=body,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": CLOUDEVENT_CONTENT_TYPE},
        )
        if response.status_code >= 500:
            raise RuntimeError(f"{response.status_code} for a bad input: {response.text[:300]}")


def bad_inputs(marker: str) -> list[bytes]:
    """Issue 10's bad inputs, each carrying the marker (so its rejection can be found)."""

    def event(event_type: str, data: dict[str, Any], **envelope: Any) -> dict[str, Any]:
        return {
            "specversion": "1.0",
            "id": f"{marker}-{random.randrange(10**9)}",
            "source": "urn:chaos:bad",
            "type": event_type,
            "time": "2026-11-01T08:00:00+07:00",
            "subject": marker,
            "data": data,
            **envelope,
        }

    unit = {"id": "c0", "name": "Chi bộ 0", "kind": "cell", "parent_id": "x0"}
    meeting = {
        "meeting_id": f"{marker}-m",
        "cell_id": "c0",
        "kind": "regular",
        "starts_at": "2026-11-20T19:30:00+07:00",
        "location": "Nhà văn hóa",
        "agenda": ["Nhiệm vụ"],
    }
    member = {"id": f"{marker}-p", "full_name": "Lê Văn Bảy", "cell_id": "c0", "status": "official"}
    assessed = {"meeting_id": "c0-2026-11", "assessor": {"role": "cell_committee"}, "points": {}}

    def dumps(value: Any) -> bytes:
        return json.dumps(value, ensure_ascii=True).encode()

    return [
        dumps(event("org.unit.upserted.v1", unit, correlationid="c" * 300)),
        dumps(event("org.unit.upserted.v1", unit, id=f"{marker}-{random.randrange(10**9)}" + "e" * 300)),
        dumps(event("meeting.scheduled.v1", meeting | {"agenda": "@"})).replace(b'"@"', b"[" * 260 + b"]" * 260),
        dumps(event("member.upserted.v1", member | {"full_name": "Lê\u0000Văn Bảy"})),
        dumps(event("meeting.assessed.v1", assessed)).replace(
            b'"points": {}', b'"points": {"chairing.flexible": 1e999}'
        ),
        dumps(event("meeting.scheduled.v1", meeting | {"location": "Nhà \udc00"})),
        dumps(event("org.unit.upserted.v1", unit, time=1767229200)),
        dumps(event("meeting.scheduled.v1", meeting | {"starts_at": "1796736600"})),
        dumps(event("org.unit.upserted.v1", unit | {"active": "no"})),
        dumps(event("meeting.assessed.v1", assessed | {"points": {"conduct.praise_criticism": 1000}})),
        dumps(event("meeting.assessed.v1", assessed | {"points": {"conduct.bribery": 1}})),
        f'{{"id": "{marker}", '.encode(),
        f'{{"id": "{marker}", "data": {"[" * 100_000}'.encode(),
    ]


async def wait_quiet(amqp_url: str, dsn: str, *, timeout: float, settle: int = 3) -> float:
    """Until every consumer queue is empty, no outbox row or dirty cell waits and the applied counts stop moving;
    seconds (tests.support.quiet, polled every 2 s)."""
    return await quiet.wait_quiet(amqp_url, dsn, timeout=timeout, settle=settle, interval=2.0)


def count_mails(mail_dir: Path) -> int:
    """Copies of mails the sink received: a mail to many counts once per envelope recipient (how notices share
    transactions depends on timing, what each recipient got does not)."""
    return sum(len(envelope_recipients(path.read_bytes())) for path in mail_dir.glob("**/*.eml"))


async def state_of(dsn: str, mail_dir: Path) -> dict[str, Any]:
    """What the quiet and the faulty runs must agree on."""
    db = await asyncpg.connect(dsn)
    try:
        scores = {
            row["meeting_id"]: (row["score"], row["rating"], row["provisional"], row["criteria"])
            for row in await db.fetch(
                "SELECT meeting_id, score, rating, provisional, criteria::text FROM evaluation.meeting_score"
            )
        }
        periods = {
            (row["cell_id"], row["period"]): (row["score"], row["rating"], row["regular_held"], list(row["flags"]))
            for row in await db.fetch(
                "SELECT cell_id, period, score, rating, regular_held, flags FROM evaluation.cell_period"
            )
        }
        alerts = sorted(
            (row["rule"], row["subject_id"], row["recipient_id"])
            for row in await db.fetch("SELECT rule, subject_id, recipient_id FROM notifications.notification")
        )
        parked = [
            await db.fetchval(f"SELECT count(*) FROM {schema}.outbox WHERE parked_at IS NOT NULL") for schema in SCHEMAS
        ]
        members = await db.fetchval("SELECT count(*) FROM meetings.member")
        meetings = await db.fetchval("SELECT count(*) FROM meetings.meeting")
    finally:
        await db.close()
    mails = await asyncio.to_thread(count_mails, mail_dir)
    return {
        "scores": scores,
        "periods": periods,
        "alerts": alerts,
        "members": members,
        "parked outbox rows": sum(parked),
        "meetings": meetings,
        "mails": mails,
    }


async def measure(dsn: str, outcome: Outcome, ids: list[str]) -> Outcome:
    """Fill a fault's line from the database: what became of each event of its slice."""
    db = await asyncpg.connect(dsn)
    try:
        processed = await db.fetchval(
            "SELECT count(*) FROM meetings.processed_message WHERE consumer = 'meetings.ingest' AND source = $1"
            " AND event_id = ANY($2::text[])",
            SOURCE,
            ids,
        )
        outcome.held = await db.fetchval(
            "SELECT count(*) FROM meetings.held_event WHERE source = $1 AND event_id = ANY($2::text[])", SOURCE, ids
        )
        outcome.rejected = await db.fetchval(
            "SELECT count(*) FROM meetings.rejection WHERE source = $1 AND event_id = ANY($2::text[])", SOURCE, ids
        )
        outcome.applied = processed - outcome.held
        outcome.lost = outcome.events_in - processed - outcome.rejected
        outcome.duplicated = await db.fetchval(
            "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM meetings.outbox"
            " WHERE payload->>'originsource' = $1 AND payload->>'originid' = ANY($2::text[])"
            " GROUP BY payload->>'type', payload->>'originid') AS copies",
            SOURCE,
            ids,
        )
    finally:
        await db.close()
    return outcome


async def measure_bad(dsn: str, outcome: Outcome, marker: str, sent: int) -> Outcome:
    """The bad inputs' line: each must be one stored rejection, nothing applied, nothing dead-lettered."""
    db = await asyncpg.connect(dsn)
    try:
        outcome.rejected = await db.fetchval("SELECT count(*) FROM meetings.rejection WHERE raw LIKE $1", f"%{marker}%")
        outcome.applied = await db.fetchval(
            "SELECT count(*) FROM meetings.processed_message WHERE event_id LIKE $1", f"{marker}%"
        )
        outcome.lost = sent - outcome.rejected - outcome.applied
    finally:
        await db.close()
    return outcome


async def dead_letters(amqp_url: str) -> int:
    """Messages in every dead-letter queue."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        total = 0
        for queue in CONSUMER_QUEUES:
            declared = await channel.declare_queue(queue.dead_letter_queue, passive=True)
            total += declared.declaration_result.message_count or 0
        return total
    finally:
        await connection.close()


async def cut_connections(dsn: str, *, times: int = 3) -> int:
    """pg_terminate_backend every other connection to the run's own database, a few times; how many were cut."""
    name = dsn.rsplit("/", 1)[1].split("?")[0]
    cut = 0
    db = await asyncpg.connect(dsn)
    try:
        for _ in range(times):
            cut += await db.fetchval(
                "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()) AS cut",
                name,
            )
            await asyncio.sleep(1.0)
    finally:
        await db.close()
    return cut


Fault = Callable[[], Coroutine[Any, Any, str]]
SERVICES = ("meetings", "evaluation", "notifications", "gateway")


def _cpu_seconds(process: Any) -> float:
    try:
        times = psutil.Process(process.pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


@dataclass
class CpuMeter:
    """CPU seconds each service's processes used during a run, a killed process's counted before the kill."""

    system: RunningSystem
    spent: dict[str, float] = field(default_factory=dict)
    start: dict[str, float] = field(default_factory=dict)

    def begin(self) -> None:
        """Take the counters now (start-up is not the run's work)."""
        self.start = {name: _cpu_seconds(self.system.processes[name]) for name in SERVICES}

    def before_kill(self, name: str) -> None:
        """Keep what a process is about to lose."""
        self.spent[name] = self.spent.get(name, 0.0) + _cpu_seconds(self.system.processes[name])

    def seconds(self) -> dict[str, float]:
        """CPU seconds per service so far."""
        return {
            name: self.spent.get(name, 0.0) + _cpu_seconds(self.system.processes[name]) - self.start.get(name, 0.0)
            for name in SERVICES
        }


@dataclass
class RunFigures:
    """How long a run took and what it cost."""

    name: str
    events: int
    sent_seconds: float = 0.0
    quiet_seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        """`<run>: N events sent in S s, quiet after Q s (E events/s); by route ...; CPU s per service ...`."""
        rate = self.events / self.quiet_seconds if self.quiet_seconds else 0.0
        routes = ", ".join(f"{kind} {count}" for kind, count in sorted(self.sent.items()))
        cpu = ", ".join(f"{name} {seconds:.0f}" for name, seconds in self.cpu.items())
        return (
            f"{self.name}: {self.events} events sent in {self.sent_seconds:.0f} s, all applied and quiet after"
            f" {self.quiet_seconds:.0f} s ({rate:.1f} events/s); sent {routes}; CPU s: {cpu}"
        )


def faults(
    system: RunningSystem, broker: PrivateBroker, dsn: str, meter: CpuMeter | None = None
) -> list[tuple[str, Fault]]:
    """Each fault as (name, action): the action runs while its slice is being sent; it returns a note."""

    def killer(name: str) -> Fault:
        async def kill() -> str:
            await asyncio.sleep(1.0)
            if meter is not None:
                meter.before_kill(name)
            system.processes[name].kill()
            system.processes[name].wait(timeout=30)
            started = time.monotonic()
            await asyncio.to_thread(system.start, name)
            return f"kill -9, back in {time.monotonic() - started:.1f} s"

        return kill

    async def restart_broker() -> str:
        await asyncio.sleep(1.0)
        seconds = await asyncio.to_thread(broker.restart_app)
        return f"stop_app/start_app in {seconds:.1f} s"

    async def cut_database() -> str:
        await asyncio.sleep(0.5)
        return f"{await cut_connections(dsn)} connections terminated"

    return [
        *[(f"kill -9 {name}", killer(name)) for name in ("meetings", "evaluation", "notifications", "gateway")],
        ("rabbitmq app restart", restart_broker),
        ("postgresql connections cut", cut_database),
    ]


async def prepare(amqp_url: str) -> None:
    """Exchanges and queues exist before the first publish."""
    await declare_topology(amqp_url, CONSUMER_QUEUES)


async def run_quiet(
    system: RunningSystem,
    amqp_url: str,
    dsn: str,
    events: list[dict[str, Any]],
    timeout: float,
    single_every: int = SINGLE_EVERY,
    lanes: int = LANES,
) -> tuple[dict[str, Any], RunFigures]:
    """The reference: the same events without faults; its final state and figures."""
    await prepare(amqp_url)
    token = issue_token(system, role="integration", unit=None, sub="chaos-quiet", province_wide=True)
    feeder = Feeder(amqp_url, system.gateway_url, token, single_every=single_every, lanes=lanes)
    meter = CpuMeter(system)
    meter.begin()
    figures = RunFigures("quiet run", len(events))
    started = time.monotonic()
    try:
        await feeder.send(events)
    finally:
        await feeder.close()
    figures.sent_seconds = time.monotonic() - started
    await wait_quiet(amqp_url, dsn, timeout=timeout)
    figures.quiet_seconds = time.monotonic() - started
    figures.cpu, figures.sent = meter.seconds(), feeder.sent
    return await state_of(dsn, system.mail_dir), figures


async def run_faulty(
    system: RunningSystem,
    broker: PrivateBroker,
    amqp_url: str,
    dsn: str,
    events: list[dict[str, Any]],
    timeout: float,
    single_every: int = SINGLE_EVERY,
    lanes: int = LANES,
) -> tuple[list[Outcome], dict[str, Any], int, RunFigures]:
    """The same events under faults: one slice per fault, then the bad inputs; the lines, the state, dead letters,
    the figures."""
    await prepare(amqp_url)
    token = issue_token(system, role="integration", unit=None, sub="chaos-faulty", province_wide=True)
    feeder = Feeder(amqp_url, system.gateway_url, token, single_every=single_every, lanes=lanes)
    meter = CpuMeter(system)
    meter.begin()
    figures = RunFigures("faulty run", len(events))
    plan = faults(system, broker, dsn, meter)
    size = -(-len(events) // (len(plan) + 1))
    slices = [events[i : i + size] for i in range(0, len(events), size)]
    outcomes: list[tuple[Outcome, list[str]]] = []
    marker = f"chaos-bad-{random.randrange(10**9)}"
    bad = {route: bad_inputs(marker) for route in ("amqp", "http")}  # fresh ids per route: two rejections each
    started = time.monotonic()
    try:
        for index, chunk in enumerate(slices):
            name, action = plan[index] if index < len(plan) else ("no fault", None)
            outcome = Outcome(name, len(chunk))
            async with asyncio.TaskGroup() as group:  # a fault that fails (a service that cannot restart) stops the run
                group.create_task(feeder.send(chunk))
                fault_task = group.create_task(action()) if action else None
            if fault_task is not None:
                outcome.note = fault_task.result()
            if index == len(slices) // 2:
                for route, bodies in bad.items():
                    for body in bodies:
                        await feeder.raw(body, route=route)
            outcomes.append((outcome, [str(event["id"]) for event in chunk]))
    finally:
        await feeder.close()
    figures.sent_seconds = time.monotonic() - started
    await wait_quiet(amqp_url, dsn, timeout=timeout)
    figures.quiet_seconds = time.monotonic() - started
    figures.cpu, figures.sent = meter.seconds(), feeder.sent
    lines = [await measure(dsn, outcome, ids) for outcome, ids in outcomes]
    sent = sum(len(bodies) for bodies in bad.values())
    lines.append(await measure_bad(dsn, Outcome("bad inputs (both routes)", sent), marker, sent))
    lines[-1].note = f"resent batches {feeder.resent}, 429 waited out {feeder.throttled}"
    return lines, await state_of(dsn, system.mail_dir), await dead_letters(amqp_url), figures


def compare(quiet: dict[str, Any], faulty: dict[str, Any]) -> list[str]:
    """Where the faulty run's final state differs from the quiet one (empty when identical)."""
    differences = []
    for key in quiet:
        if quiet[key] != faulty[key]:
            if isinstance(quiet[key], dict):
                keys = set(quiet[key]) ^ set(faulty[key])
                changed = [k for k in set(quiet[key]) & set(faulty[key]) if quiet[key][k] != faulty[key][k]]
                differences.append(
                    f"{key}: {len(keys)} only in one run, {len(changed)} differ (e.g. {(list(keys) + changed)[:3]})"
                )
            elif isinstance(quiet[key], list):
                only_quiet = sorted((Counter(quiet[key]) - Counter(faulty[key])).elements())
                only_faulty = sorted((Counter(faulty[key]) - Counter(quiet[key])).elements())
                differences.append(
                    f"{key}: {len(only_quiet)} only in the quiet run {only_quiet[:10]},"
                    f" {len(only_faulty)} only in the faulty run {only_faulty[:10]}"
                )
            else:
                differences.append(f"{key}: quiet {str(quiet[key])[:200]} vs faulty {str(faulty[key])[:200]}")
    return differences
