"""Fixtures of the notifications tests: a real SMTP server, a real webhook receiver, the service's settings, and a
held meeting whose score the settled-rating check judges on a clock the test drives, and the demo mail sink."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from deploy.mailsink import start_sink
from services.notifications.bootstrap import SERVICE_DIR
from services.notifications.config import Settings
from services.notifications.handlers import HANDLERS
from services.notifications.handlers.jobs import record_run, run_job
from services.notifications.repository.outgoing import PLANNED_AT_SQL, Job
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.contracts.registry import read_event
from shared.db import create_pool
from shared.envelope import CloudEvent
from shared.periods import VIETNAM_TZ
from shared.runtime import migrate
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock
from tests.support.ids import random_id
from tests.support.running import free_port, smtp_server

NOW = datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ)
"""Where the settled-rating tests start their clock."""
RATING_CHECK = "score.meeting"
"""The schedule's kind of a meeting's settled-rating check."""


class SmtpInbox:
    """aiosmtpd handler keeping every message received, with the envelope recipients it was delivered to."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[list[str]] = []
        """The RCPT TO addresses of each message, in the order of `messages`."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        """Keep the parsed message."""
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append(list(envelope.rcpt_tos))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        """Messages delivered to one address (a mail to many names them only in its envelope)."""
        return [m for m, rcpt in zip(self.messages, self.envelopes, strict=True) if address in rcpt]


@pytest.fixture(scope="package")
def smtp() -> Iterator[tuple[SmtpInbox, int]]:
    """A real SMTP server on a free port, for the whole package."""
    inbox = SmtpInbox()
    with smtp_server(inbox) as port:
        yield inbox, port


class WebhookReceiver:
    """A minimal HTTP server recording each POST; answers with `status`."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        self.port = free_port()
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """Where to POST."""
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> None:
        """Listen."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append((headers, body))
        reason = "OK" if self.status < 400 else "Error"
        writer.write(f"HTTP/1.1 {self.status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()


@pytest.fixture(scope="package")
async def webhook() -> AsyncIterator[WebhookReceiver]:
    """A real HTTP webhook receiver for the package."""
    receiver = WebhookReceiver()
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


@pytest.fixture
def settings(amqp_url: str, database_url: str, smtp: tuple[SmtpInbox, int], webhook: WebhookReceiver) -> Settings:
    """Settings of an in-process notifications service with fast polling and short backoff."""
    return Settings(
        amqp_url=amqp_url,
        database_url=database_url,
        smtp_port=smtp[1],
        webhook_secret="bí-mật",
        # the receivers listen on loopback, which the SSRF guard refuses unless the deployment allows it
        webhook_allowed_hosts=["127.0.0.1"],
        secret_key="khóa-niêm-phong-của-bài-kiểm-thử",
        default_person_channels=["email", "inbox"],
        default_committee_channels=["email", "inbox"],
        # the tests count each committee alert's own mail; the default daily digest is tested on its own
        # (test_committee_digest.py)
        default_committee_digest=False,
        delivery_backoff_seconds=0.2,
        delivery_backoff_max_seconds=1.0,
        delivery_poll_seconds=0.1,
        schedule_poll_seconds=0.2,
        relay_poll_seconds=0.2,
        log_json=True,
    )


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """The demo mail sink on a port of its own: (its directory, its port)."""
    port = free_port()
    directory = tmp_path / "mail"
    controller = start_sink(host="127.0.0.1", port=port, directory=directory)
    try:
        yield directory, port
    finally:
        controller.stop()


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the migrated notifications schema."""
    await migrate(settings, schema="notifications", service_dir=SERVICE_DIR)
    pool = await create_pool(settings.database_url, schema="notifications")
    try:
        yield pool
    finally:
        await pool.close()


def scored(p: Province, meeting_id: str, rating: str, score: float, *, time: datetime) -> CloudEvent:
    """score.meeting.updated.v1 of the meeting, final (not provisional), published at `time`."""
    data = {
        "meeting_id": meeting_id,
        "cell_id": p.cell,
        "framework": {"id": "f", "version": "1"},
        "score": score,
        "rating": rating,
        "provisional": False,
        "criteria": [],
    }
    return event("score.meeting.updated.v1", data, source="urn:chibo:evaluation", time=time)


async def handle(pool: asyncpg.Pool, settings: Settings, clock: Clock, *events: CloudEvent) -> None:
    """Each event through its handler in its own committed unit of work, at the clock's time."""
    for item in events:
        async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
            await HANDLERS[item.type](read_event(item), uow)
            await uow.commit()


async def run_due(
    pool: asyncpg.Pool, settings: Settings, clock: Clock, meeting_id: str, kind: str = RATING_CHECK
) -> int | None:
    """The meeting's job of `kind` (its rating check by default) as the schedule runs it once due at the clock's time
    (claimed, run, marked fired or planned again, in one transaction): the alerts it created, None while it is not
    due (or not planned, or fired already)."""
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        row = await uow.connection.fetchrow(
            f"SELECT id, kind, subject_id, due_at, attempts, cursor, {PLANNED_AT_SQL} AS planned_at FROM schedule"
            " WHERE kind = $1 AND subject_id = $2 AND done_at IS NULL AND due_at <= $3 FOR UPDATE",
            kind,
            meeting_id,
            clock.value,
        )
        if row is None:
            return None
        job = Job(**dict(row))
        run = await run_job(job, uow)
        await record_run(job, run, uow)
        await uow.commit()
    return run.created


async def due_at(pool: asyncpg.Pool, meeting_id: str) -> datetime | None:
    """When the meeting's rating check is due (None when none is planned)."""
    async with pool.acquire() as conn:
        found: datetime | None = await conn.fetchval(
            "SELECT due_at FROM schedule WHERE kind = $1 AND subject_id = $2", RATING_CHECK, meeting_id
        )
    return found


async def cancellations_logged(pool: asyncpg.Pool, meeting_id: str) -> list[str]:
    """The delivery_log errors of the meeting's cancelled deliveries."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT l.error FROM delivery_log l JOIN delivery d ON d.id = l.delivery_id JOIN notification n"
            " ON n.id = d.notification_id WHERE n.subject_id = $1 AND l.outcome = 'cancelled'",
            meeting_id,
        )
    return [row["error"] for row in rows]


@dataclass
class HeldMeeting:
    """A projected cell's meeting held the day before NOW (its minutes in), the clock its handlers and schedule run
    at (the test moves it), and what the rating tests read of it: its check, its meeting_rated_low alerts and their
    deliveries."""

    pool: asyncpg.Pool
    settings: Settings
    clock: Clock
    province: Province
    meeting_id: str

    def unit_of_work(self) -> NotificationsUnitOfWork:
        """A unit of work on the pool at the clock's time."""
        return NotificationsUnitOfWork(self.pool, settings=self.settings, clock=self.clock)

    def scored(self, rating: str, score: float, *, time: datetime) -> CloudEvent:
        """score.meeting.updated.v1 of the meeting, final, published at `time`."""
        return scored(self.province, self.meeting_id, rating, score, time=time)

    async def handle(self, *events: CloudEvent) -> None:
        """Each event through its handler in its own committed unit of work, at the clock's time."""
        await handle(self.pool, self.settings, self.clock, *events)

    async def run_due(self) -> int | None:
        """The rating check run once due at the clock's time: the alerts it created, None while not due."""
        return await run_due(self.pool, self.settings, self.clock, self.meeting_id)

    async def due_at(self) -> datetime | None:
        """When the rating check is due (None when none is planned)."""
        return await due_at(self.pool, self.meeting_id)

    async def alerts(self) -> list[tuple[str, str, str, str]]:
        """(recipient, rating, title, body) of every meeting_rated_low alert about the meeting."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT recipient_id, period, title, body FROM notification WHERE rule = 'meeting_rated_low'"
                " AND subject_id = $1 ORDER BY recipient_id, period",
                self.meeting_id,
            )
        return [(row["recipient_id"], row["period"], row["title"], row["body"]) for row in rows]

    async def deliveries(self) -> dict[str, str]:
        """channel -> status of the deliveries of the meeting's meeting_rated_low alerts."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT d.channel, d.status FROM delivery d JOIN notification n ON n.id = d.notification_id"
                " WHERE n.rule = 'meeting_rated_low' AND n.subject_id = $1",
                self.meeting_id,
            )
        return {row["channel"]: row["status"] for row in rows}

    async def voided(self) -> list[bool]:
        """Whether each meeting_rated_low alert of the meeting is void (and out of the digests)."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT void_at IS NOT NULL AND NOT digest_pending AS void FROM notification"
                " WHERE rule = 'meeting_rated_low' AND subject_id = $1",
                self.meeting_id,
            )
        return [row["void"] for row in rows]

    async def cancellations_logged(self) -> list[str]:
        """The delivery_log errors of the meeting's cancelled deliveries."""
        return await cancellations_logged(self.pool, self.meeting_id)

    async def low_alert_waiting(self) -> None:
        """A poor score at NOW settled 30 minutes later into one meeting_rated_low alert: in the inbox, its mail
        still pending (no sender runs)."""
        await self.handle(self.scored("poor", 41.0, time=NOW))
        self.clock.value = NOW + timedelta(minutes=30)
        assert await self.run_due() == 1
        assert await self.deliveries() == {"email": "pending", "inbox": "delivered"}


@pytest.fixture
async def held(pool: asyncpg.Pool, settings: Settings) -> HeldMeeting:
    """A projected cell and a meeting of it that started the day before NOW and was held (its minutes are in), the
    clock at NOW."""
    clock = Clock(NOW)
    p, meeting_id = Province(), random_id("mtg")
    start = NOW - timedelta(days=1)
    await handle(
        pool,
        settings,
        clock,
        *p.setup(),
        p.scheduled(meeting_id, start),
        p.minutes(meeting_id, start + timedelta(hours=2)),
    )
    return HeldMeeting(pool, settings, clock, p, meeting_id)
