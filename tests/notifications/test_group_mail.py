"""A notice to a whole cell is one mail: one SMTP transaction whose envelope names every recipient, each recipient's
delivery recorded from its own RCPT answer, against the real database and a real SMTP server (aiosmtpd).

Issue 12: at the month-start spike every cell's meeting notice went to its 17 members and its monitor as 18 mails of
the very same text, 3,150 SMTP transactions for 175 cells; sending (250-325 mails/s) was the notice path's bound.
"""

import asyncio
import io
import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.generator import BytesGenerator
from email.header import decode_header, make_header
from typing import Any

import asyncpg
import pytest

from services.notifications.channels import SmtpSender, build_email, build_group_email, mail_key, wire_bytes
from services.notifications.config import Settings
from services.notifications.domain.model import Recipient
from services.notifications.handlers.deliveries import (
    DeliveryRounds,
    claim_deliveries,
    deliver_due,
    group_sends,
    send_together,
)
from services.notifications.repository.outgoing import ClaimedDelivery, NewDelivery, NewNotification
from services.notifications.unit_of_work import NotificationsUnitOfWork, uow_factory
from shared.periods import VIETNAM_TZ
from tests.notifications.fakes import Clock
from tests.notifications.test_mail_subjects import delivery
from tests.support.ids import random_id
from tests.support.running import smtp_server

CELL_NAME = "Chi bộ khu phố Đông Hòa"
BODY = (
    f"Kính gửi các đồng chí đảng viên {CELL_NAME},\n\n"
    "Xin thông báo buổi sinh hoạt thường kỳ của chi bộ vào lúc 19:30 thứ Bảy, ngày 05/12/2026 tại Nhà văn hóa."
)
TITLE = f"Thông báo lịch sinh hoạt: {CELL_NAME}, 19:30 thứ Bảy, ngày 05/12/2026"


class Server:
    """aiosmtpd handler: keeps each mail with its envelope, refuses the addresses in `refuse`, and can hold the DATA
    answer back (`slow` seconds) to stop the sender in the middle of a transaction."""

    def __init__(self) -> None:
        self.mails: list[tuple[list[str], Any]] = []
        self.contents: list[bytes] = []
        self.refuse: set[str] = set()
        self.slow = 0.0
        self.data_started = asyncio.Event()

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        """Refuse the addresses in `refuse`, take the others."""
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        """Keep the message and who it went to."""
        self.data_started.set()
        if self.slow:
            await asyncio.sleep(self.slow)
        self.mails.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        self.contents.append(envelope.content)
        return "250 OK"

    def copies(self, address: str) -> int:
        """How many mails reached the address."""
        return sum(address in rcpt for rcpt, _ in self.mails)


@pytest.fixture
def server() -> Iterator[tuple[Server, int]]:
    """A plain SMTP server of its own for one test."""
    handler = Server()
    with smtp_server(handler) as port:
        yield handler, port


def claimed(number: int, *, body: str = BODY, prefix: str = "dv") -> ClaimedDelivery:
    """A claimed mail of the cell notice to its own recipient."""
    return ClaimedDelivery(
        **(
            delivery(TITLE).__dict__
            | {
                "id": number,
                "notification_id": str(uuid.uuid4()),
                "addresses": (f"{prefix}-{number}@example.vn",),
                "recipient_id": f"m{number}",
                "body": body,
                "cell_name": CELL_NAME,
            }
        )
    )


async def test_identical_mails_to_many_travel_as_one_transaction_naming_nobody_in_the_headers(
    settings: Settings, server: tuple[Server, int]
) -> None:
    smtp, port = server
    sender = SmtpSender(settings.model_copy(update={"smtp_port": port}))
    group = [claimed(number) for number in range(18)]
    assert await sender.send_group(group) == [None] * 18
    assert len(smtp.mails) == 1 and sender.transactions == 1
    envelope, mail = smtp.mails[0]
    assert envelope == [f"dv-{number}@example.vn" for number in range(18)]
    headers = "\n".join(f"{name}: {value}" for name, value in mail.items())
    assert "example.vn" not in headers  # no member sees another's address
    assert str(mail["To"]) == f"Đảng viên {CELL_NAME}:;"
    assert str(mail["Subject"]) == TITLE
    assert mail.get_content() == BODY + "\n"
    await sender.aclose()


@pytest.mark.parametrize(
    "cell_name",
    [
        CELL_NAME,
        "Chi bộ Trạm Y tế phường",
        "Chi bộ Trường Trung học phổ thông chuyên Lê Quý Đôn, phường Hòa Bình (cơ sở 2)",
        'Chi bộ "Khu phố 3": phường; An Phú',
    ],
)
async def test_the_audience_of_a_mail_to_many_reads_back_exactly_whatever_the_cell_name(
    settings: Settings, server: tuple[Server, int], cell_name: str
) -> None:
    """RFC 2047 (5.3): an encoded word in a phrase is set apart from the ':' after it by white space; glued to it,
    a strict reader does not take the name's last word for an encoded word (Python's parser reports the defect)."""
    smtp, port = server
    sender = SmtpSender(settings.model_copy(update={"smtp_port": port}))
    group = [ClaimedDelivery(**(claimed(number).__dict__ | {"cell_name": cell_name})) for number in range(3)]
    assert await sender.send_group(group) == [None] * 3
    await sender.aclose()
    to = smtp.mails[0][1]["To"]
    assert to.defects == () and [group.addresses for group in to.groups] == [()]
    wire = message_from_bytes(smtp.contents[0], policy=policy.compat32)["To"]
    for word in re.finditer(r"=\?[^?]+\?[bBqQ]\?[^?]*\?=", wire):
        assert wire[word.end() : word.end() + 1] in ("", " ", "\t", "\r", "\n"), wire
    phrase, _, rest = str(make_header(decode_header(wire))).rpartition(":")
    assert phrase.rstrip() == f"Đảng viên {cell_name}" and rest == ";"  # an empty group naming the cell


async def test_a_refused_recipient_fails_alone_and_the_others_are_delivered(
    settings: Settings, server: tuple[Server, int]
) -> None:
    smtp, port = server
    sender = SmtpSender(settings.model_copy(update={"smtp_port": port}))
    smtp.refuse.add("dv-2@example.vn")
    outcomes = await sender.send_group([claimed(number) for number in range(4)])
    assert outcomes[:2] == [None, None] and outcomes[3] is None
    assert outcomes[2] is not None and "dv-2@example.vn" in outcomes[2] and "550" in outcomes[2]
    assert [rcpt for rcpt, _ in smtp.mails] == [["dv-0@example.vn", "dv-1@example.vn", "dv-3@example.vn"]]
    smtp.refuse = {f"dv-{number}@example.vn" for number in range(4)}
    refused = await sender.send_group([claimed(number) for number in range(4)])
    assert all(outcome is not None and "550" in outcome for outcome in refused)  # all refused: no DATA, all retry
    assert len(smtp.mails) == 1
    await sender.aclose()


def test_only_identical_texts_are_grouped() -> None:
    """The content key is the rendered text: a personal text (a greeting by name) never shares a mail."""
    personal = [claimed(number, body=f"Kính gửi đồng chí Nguyễn Văn {number},\n\nNội dung.") for number in range(3)]
    collective = [claimed(number) for number in range(3, 7)]
    sender = SmtpSender(Settings(smtp_max_recipients=3))
    planned = group_sends([*personal, *collective], {"email": sender})
    assert [[d.id for d in group] for group, _ in planned] == [[0], [1], [2], [3, 4, 5], [6]]
    assert len({mail_key(d) for d in personal}) == 3 and len({mail_key(d) for d in collective}) == 1
    assert "dv-0@example.vn" in str(build_email(personal[0], sender="a@b.vn")["To"])  # alone: addressed as before


def test_two_notices_that_read_alike_are_two_mails() -> None:
    """Two changes of one meeting can read alike (moved to the 19th, back to the 18th, to the 19th again): each is its
    own notice (period), so a member pending both gets both, and each still goes to the whole cell in one mail."""
    first = [ClaimedDelivery(**(claimed(n).__dict__ | {"period": "change:1"})) for n in range(3)]
    again = [ClaimedDelivery(**(claimed(n).__dict__ | {"id": 10 + n, "period": "change:3"})) for n in range(3)]
    planned = group_sends([*first, *again], {"email": SmtpSender(Settings())})
    assert [[d.id for d in group] for group, _ in planned] == [[0, 1, 2], [10, 11, 12]]


async def queue_cell_notice(pool: asyncpg.Pool, settings: Settings, clock: Clock, recipients: int) -> dict[str, int]:
    """One cell notice stored for `recipients` members, each with its pending e-mail delivery due at the clock's
    time; the delivery id of each address."""
    cell_id, subject_id = random_id("cell"), random_id("mtg")
    people = [
        Recipient(id=random_id("m"), kind="person", name=f"Đảng viên {n}", emails=(f"{random_id('dv')}@example.vn",))
        for n in range(recipients)
    ]
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        await uow.connection.execute(
            "INSERT INTO unit (id, name, kind, parent_id, known_since, version_time, version_id)"
            " VALUES ($1, $2, 'cell', NULL, $3, $3, 'v')",
            cell_id,
            CELL_NAME,
            clock.value,
        )
        ids = await uow.outgoing.insert_notifications(
            [
                NewNotification(
                    rule="meeting_scheduled",
                    subject_id=subject_id,
                    period="scheduled",
                    recipient=person,
                    cell_id=cell_id,
                    title=TITLE,
                    body=BODY,
                    created_at=clock.value,
                    digest_pending=False,
                )
                for person in people
            ]
        )
        await uow.outgoing.add_deliveries(
            [
                NewDelivery(notification_id=str(nid), channel="email", addresses=person.emails, delivered_at=None)
                for nid, person in zip(ids, people, strict=True)
            ]
        )
        rows = await uow.connection.fetch(
            "UPDATE delivery SET next_attempt_at = $2 WHERE notification_id = ANY($1::uuid[]) RETURNING id, addresses",
            [uuid.UUID(str(nid)) for nid in ids],
            clock.value,
        )
        await uow.commit()
    return {row["addresses"][0]: row["id"] for row in rows}


async def statuses(pool: asyncpg.Pool, ids: list[int]) -> dict[int, tuple[str, int]]:
    """(status, attempts) of each delivery."""
    rows = await pool.fetch("SELECT id, status, attempts FROM delivery WHERE id = ANY($1::bigint[])", ids)
    return {row["id"]: (row["status"], row["attempts"]) for row in rows}


async def leased_after_restart(factory: Any, settings: Settings, clock: Clock) -> int:
    """How many deliveries a restarted sender leases once any lease has long run out (one round, recorded)."""
    restarted = SmtpSender(settings)
    clock.value += timedelta(hours=1)
    try:
        return await deliver_due(factory, {"email": restarted})
    finally:
        await restarted.aclose()


async def retire(pool: asyncpg.Pool, ids: list[int]) -> None:
    """Leave nothing due at the test's early time for another run."""
    await pool.execute("UPDATE delivery SET status = 'failed' WHERE id = ANY($1::bigint[]) AND status = 'pending'", ids)


async def test_a_cell_notice_is_one_transaction_each_recipient_recorded_and_a_refused_one_retried_alone(
    pool: asyncpg.Pool, settings: Settings, server: tuple[Server, int]
) -> None:
    smtp, port = server
    settings = settings.model_copy(update={"smtp_port": port, "delivery_backoff_seconds": 30.0})
    clock = Clock(datetime(1990, 4, 1, 8, 0, tzinfo=VIETNAM_TZ))  # only this test's deliveries are due then
    by_address = await queue_cell_notice(pool, settings, clock, 18)
    ids = list(by_address.values())
    refused = sorted(by_address)[5]
    smtp.refuse.add(refused)
    sender = SmtpSender(settings)
    factory = uow_factory(pool, settings=settings, clock=clock)
    try:
        assert await deliver_due(factory, {"email": sender}) == 18
        assert sender.transactions == 1 and len(smtp.mails) == 1
        assert sorted(smtp.mails[0][0]) == sorted(set(by_address) - {refused})
        after = await statuses(pool, ids)
        assert after[by_address[refused]] == ("pending", 1)
        assert [after[i] for i in ids if i != by_address[refused]] == [("delivered", 1)] * 17
        log = await pool.fetch(
            "SELECT delivery_id, outcome, error FROM delivery_log WHERE delivery_id = ANY($1::bigint[])", ids
        )
        assert sorted(row["outcome"] for row in log) == ["delivered"] * 17 + ["pending"]
        assert refused in next(row["error"] for row in log if row["outcome"] == "pending")
        delivered_events = await pool.fetchval(
            "SELECT count(*) FROM outbox o JOIN delivery d ON d.notification_id::text = o.payload->'data'->>"
            "'notification_id' WHERE d.id = ANY($1::bigint[]) AND o.type = 'notification.delivered.v1'",
            ids,
        )
        assert delivered_events == 17  # one notification.delivered.v1 per recipient, as before

        smtp.refuse.clear()
        assert await deliver_due(factory, {"email": sender}) == 0  # backing off
        clock.value += timedelta(seconds=31)
        assert await deliver_due(factory, {"email": sender}) == 1  # the refused one alone
        assert smtp.mails[1][0] == [refused]
        assert str(smtp.mails[1][1]["To"]) == refused  # a mail of its own, addressed as one always was
        assert await statuses(pool, ids) == {i: ("delivered", 2 if i == by_address[refused] else 1) for i in ids}
        assert all(smtp.copies(address) == 1 for address in by_address)  # each recipient once
    finally:
        await sender.aclose()
        await retire(pool, ids)


async def test_stopping_mid_transaction_and_starting_again_sends_nobody_twice(
    pool: asyncpg.Pool, settings: Settings, server: tuple[Server, int]
) -> None:
    """SIGTERM while a mail to 18 is on the wire: the transaction ends (the server answers within the shutdown's
    grace), every recipient's outcome is recorded, and the restarted sender finds nothing left to send."""
    smtp, port = server
    settings = settings.model_copy(update={"smtp_port": port})
    clock = Clock(datetime(1990, 4, 2, 8, 0, tzinfo=VIETNAM_TZ))
    by_address = await queue_cell_notice(pool, settings, clock, 18)
    ids = list(by_address.values())
    smtp.slow = 0.5
    sender = SmtpSender(settings)
    factory = uow_factory(pool, settings=settings, clock=clock)
    try:
        round_ = asyncio.create_task(deliver_due(factory, {"email": sender}))
        await asyncio.wait_for(smtp.data_started.wait(), timeout=30)
        round_.cancel()  # the service stops with the mail in flight
        with pytest.raises(asyncio.CancelledError):
            await round_
        await sender.aclose()
        assert await statuses(pool, ids) == {i: ("delivered", 1) for i in ids}
        assert await leased_after_restart(factory, settings, clock) == 0
        assert len(smtp.mails) == 1 and all(smtp.copies(address) == 1 for address in by_address)
    finally:
        await retire(pool, ids)


async def test_stopping_pipelined_rounds_mid_transaction_records_both_rounds_and_sends_nobody_twice(
    pool: asyncpg.Pool, settings: Settings, server: tuple[Server, int]
) -> None:
    """The service's sender pipelines rounds: stopped while round 2 is on the wire and round 1 may still be being
    recorded, both rounds end recorded (the stop waits for the recording), and the restarted sender sends nothing."""
    smtp, port = server
    settings = settings.model_copy(update={"smtp_port": port, "delivery_batch_size": 18})
    clock = Clock(datetime(1990, 4, 3, 8, 0, tzinfo=VIETNAM_TZ))
    first = await queue_cell_notice(pool, settings, clock, 18)
    second = await queue_cell_notice(pool, settings, clock, 18)
    ids = [*first.values(), *second.values()]
    sender = SmtpSender(settings)
    factory = uow_factory(pool, settings=settings, clock=clock)
    rounds = DeliveryRounds(factory, {"email": sender})
    try:
        assert await rounds.step() == 18  # round 1 sent, its recording under way
        smtp.data_started.clear()
        smtp.slow = 0.5
        round_2 = asyncio.create_task(rounds.step())
        await asyncio.wait_for(smtp.data_started.wait(), timeout=30)
        round_2.cancel()  # the service stops with round 2's mail in flight
        with pytest.raises(asyncio.CancelledError):
            await round_2
        await rounds.drain()  # as run_deliveries does on its way out
        await sender.aclose()
        assert await statuses(pool, ids) == {i: ("delivered", 1) for i in ids}
        assert await leased_after_restart(factory, settings, clock) == 0
        assert len(smtp.mails) == 2 and all(smtp.copies(address) == 1 for address in [*first, *second])
    finally:
        await retire(pool, ids)


class CommitHeld(NotificationsUnitOfWork):
    """A unit of work whose commit of outcomes (a transaction that emits events) says it began, then waits."""

    began: asyncio.Event
    release: asyncio.Event

    async def commit(self) -> None:
        if self.emitted:
            self.began.set()
            await asyncio.wait_for(self.release.wait(), timeout=30)
        await super().commit()


async def test_stopping_while_a_send_waits_for_its_recording_still_records_it_and_sends_nobody_twice(
    pool: asyncpg.Pool, settings: Settings, server: tuple[Server, int]
) -> None:
    """A mail sent, its outcome's commit under way, and the sender stopped while the send waits for it (past the
    shutdown's 2 s for sends): the recording still commits, and nothing goes again after the lease. Awaiting a
    recording handed the stop's cancel on to it, so the sent mail stayed leased, unrecorded, with no log line, and
    was sent again 120 s later (seen in a notifications test run on 1 December)."""
    smtp, port = server
    settings = settings.model_copy(update={"smtp_port": port})
    clock = Clock(datetime(1990, 4, 5, 8, 0, tzinfo=VIETNAM_TZ))
    by_address = await queue_cell_notice(pool, settings, clock, 18)
    ids = list(by_address.values())
    sender = SmtpSender(settings)
    began, release = asyncio.Event(), asyncio.Event()

    def factory() -> NotificationsUnitOfWork:
        uow = CommitHeld(pool, settings=settings, clock=clock)
        uow.began, uow.release = began, release
        return uow

    rounds = DeliveryRounds(factory, {"email": sender})
    try:
        round_ = asyncio.create_task(rounds.step())
        await asyncio.wait_for(began.wait(), timeout=30)  # sent; its outcome's commit under way
        round_.cancel()  # the service stops
        stopped = asyncio.create_task(asyncio.wait([round_]))
        await asyncio.sleep(2.5)  # past the shutdown's time for sends: the waiting send is cancelled
        release.set()
        await stopped
        with pytest.raises(asyncio.CancelledError):
            await round_
        await rounds.drain()  # as run_deliveries does on its way out
        await sender.aclose()
        assert await statuses(pool, ids) == {i: ("delivered", 1) for i in ids}
        assert await leased_after_restart(uow_factory(pool, settings=settings, clock=clock), settings, clock) == 0
        assert len(smtp.mails) == 1 and all(smtp.copies(address) == 1 for address in by_address)
    finally:
        release.set()
        await retire(pool, ids)


async def test_a_round_sent_again_after_a_crash_carries_the_same_message_ids(
    pool: asyncpg.Pool, settings: Settings, server: tuple[Server, int]
) -> None:
    """kill -9 between the server's answer and the round's commit: at least once, the round goes again once its
    lease runs out. Each mail then carries the Message-ID it had the first time (RFC 5322 3.6.4: one message, one
    identifier), so the recipients' mail systems can see the copy for what it is; a fresh random id made it a new
    message to everyone of the round (200 recipients after a kill -9 of the demo's notifications service)."""
    smtp, port = server
    settings = settings.model_copy(update={"smtp_port": port})
    clock = Clock(datetime(1990, 4, 4, 8, 0, tzinfo=VIETNAM_TZ))
    cell = await queue_cell_notice(pool, settings, clock, 18)
    alone = await queue_cell_notice(pool, settings, clock, 1)  # another cell's: a mail of its own
    ids = [*cell.values(), *alone.values()]
    sender = SmtpSender(settings)
    senders = {"email": sender}
    factory = uow_factory(pool, settings=settings, clock=clock)
    try:
        async with factory() as uow:  # the round as DeliveryRounds.step runs it, up to the crash
            leased = await claim_deliveries(uow)
            await uow.commit()
        assert sorted(d.id for d in leased) == sorted(ids)
        for group, group_sender in group_sends(leased, senders):
            assert await send_together(group, group_sender, senders) == [None] * len(group)
        first = {tuple(sorted(rcpt)): mail["Message-ID"] for rcpt, mail in smtp.mails}
        assert len(first) == 2 and len(set(first.values())) == 2  # killed here: nothing recorded

        clock.value += timedelta(seconds=settings.delivery_lease_seconds + 1)
        assert await deliver_due(factory, {"email": SmtpSender(settings)}) == 19
        again = {tuple(sorted(rcpt)): mail["Message-ID"] for rcpt, mail in smtp.mails[2:]}
        assert again == first
        assert await statuses(pool, ids) == {i: ("delivered", 1) for i in ids}
    finally:
        await sender.aclose()
        await retire(pool, ids)


def test_a_mail_is_written_as_compat32_writes_it_mail_after_mail() -> None:
    """wire_bytes remembers how plain header values fold (From, X-Chibo-Rule, Content-Type ...): every mail, the
    first and those after it, is byte for byte what compat32's own generator writes."""

    def reference(message: Any) -> bytes:
        buffer = io.BytesIO()
        BytesGenerator(buffer, policy=policy.compat32.clone(linesep="\r\n")).flatten(message, linesep="\r\n")
        return buffer.getvalue()

    long_sender = '"Ban Tổ chức Đảng ủy phường Đông Hòa, thành phố Dĩ An, tỉnh Bình Dương" <thongbao@chibo.local>'
    for sender in ("thongbao@chibo.local", long_sender):
        messages = [build_group_email([claimed(n) for n in range(18)], sender=sender) for _ in range(2)]
        messages += [
            build_email(claimed(n, body=f"Kính gửi đồng chí {n},\n\n.Nội dung."), sender=sender) for n in range(2)
        ]
        for message in messages * 2:
            assert wire_bytes(message) == reference(message)
