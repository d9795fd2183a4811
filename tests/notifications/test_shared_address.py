"""One mail per address per alert (trial 16 #1: a cell's common mailbox held by 7 members got 7 copies of one alert),
against the real database and the demo mail sink (deploy.mailsink, as the end-to-end tests read it): every member is
a recipient with their own notification and inbox notice, the shared address gets the alert once, and raising the
alert again (a redelivered fact, a restart) or for one more member later mails it nothing more."""

import json
from dataclasses import replace
from datetime import datetime, timedelta
from email import message_from_bytes
from pathlib import Path

import asyncpg
import pytest
from pydantic import ValidationError

from deploy.mailsink import envelope_recipients, plain_text
from services.notifications.channels import SmtpSender
from services.notifications.config import Settings
from services.notifications.domain import settings as r
from services.notifications.domain.model import Alert, Recipient
from services.notifications.handlers.alerts import raise_alerts
from services.notifications.handlers.deliveries import deliver_due
from services.notifications.handlers.jobs import DAILY_MAIL_PRUNE, run_job
from services.notifications.repository.outgoing import Job
from services.notifications.unit_of_work import NotificationsUnitOfWork, uow_factory
from shared.periods import VIETNAM_TZ
from tests.notifications.fakes import Clock
from tests.support.ids import random_id

CELL = "Chi bộ thôn Đông Hòa"


def copies(directory: Path, address: str) -> int:
    """How many mails the sink kept for the address (in the envelope of each)."""
    return sum(address in envelope_recipients(path.read_bytes()) for path in directory.glob("*.eml"))


def greetings(directory: Path, address: str) -> list[str]:
    """The first line (the greeting) of each mail the sink kept for the address."""
    return [
        plain_text(message_from_bytes(path.read_bytes())).splitlines()[0]
        for path in sorted(directory.glob("*.eml"))
        if address in envelope_recipients(path.read_bytes())
    ]


def members(count: int, address: str) -> list[Recipient]:
    """Members of one cell sharing one e-mail address."""
    return [
        Recipient(id=random_id("dv"), kind="person", name=f"Nguyễn Văn {number}", emails=(address,))
        for number in range(count)
    ]


def probation(recipients: list[Recipient], subject_id: str) -> Alert:
    """A probation-ending alert (a personal text: each greeted by name) to the recipients."""
    return Alert(
        rule=r.PROBATION_ENDING,
        subject_id=subject_id,
        period="2026-12-20",
        recipients=tuple(recipients),
        cell_id=None,
        values={"cell": CELL, "member": "Võ Thị Hạnh", "ends_on": datetime(2026, 12, 20).date()},
    )


def notice(recipients: list[Recipient], subject_id: str, *, monitors: tuple[Recipient, ...] = ()) -> Alert:
    """A cell's meeting notice (one text for its members) to the recipients, `monitors` among them its upper-level
    monitors (their own text, templates.MONITOR_BODIES)."""
    return Alert(
        rule=r.MEETING_SCHEDULED,
        subject_id=subject_id,
        period="scheduled",
        recipients=tuple(recipients),
        cell_id=None,
        values={
            "cell": CELL,
            "meeting_kind": "regular",
            "topic": None,
            "starts_at": datetime(2026, 12, 20, 19, 30, tzinfo=VIETNAM_TZ),
            "location": "Nhà văn hóa thôn",
            "meeting_id": subject_id,
            "monitor_ids": tuple(monitor.id for monitor in monitors),
        },
    )


async def raise_now(pool: asyncpg.Pool, settings: Settings, clock: Clock, alert: Alert) -> int:
    """The alert raised in a committed unit of work at the clock's time; how many notifications were new."""
    async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
        created = await raise_alerts([alert], uow)
        await uow.commit()
    return created


async def deliver_all(pool: asyncpg.Pool, settings: Settings, clock: Clock) -> None:
    """Delivery rounds until none is due at the clock's time (a minute on, past every delivery planned)."""
    sender = SmtpSender(settings)
    later = Clock(clock.value + timedelta(minutes=1))
    try:
        while await deliver_due(uow_factory(pool, settings=settings, clock=later), {"email": sender}):
            pass
    finally:
        await sender.aclose()


async def inbox_notices(pool: asyncpg.Pool, subject_id: str) -> list[str]:
    """The recipients whose inbox got a notice about the subject."""
    rows = await pool.fetch(
        "SELECT n.recipient_id FROM notification n JOIN delivery d ON d.notification_id = n.id"
        " WHERE n.subject_id = $1 AND d.channel = 'inbox' AND d.status = 'delivered' ORDER BY n.recipient_id",
        subject_id,
    )
    return [row["recipient_id"] for row in rows]


async def test_seven_members_sharing_an_address_get_one_mail_of_an_alert_and_each_their_inbox_notice(
    pool: asyncpg.Pool, settings: Settings, sink: tuple[Path, int]
) -> None:
    directory, port = sink
    settings = settings.model_copy(update={"smtp_port": port})
    clock = Clock(datetime.now(VIETNAM_TZ))
    shared = f"{random_id('chibo')}@example.vn"
    seven, subject_id = members(7, shared), random_id("dv")
    own = Recipient(id=random_id("bt"), kind="person", name="Trần Thị Lan", emails=(f"{random_id('bt')}@example.vn",))

    assert await raise_now(pool, settings, clock, probation([*seven, own], subject_id)) == 8
    await deliver_all(pool, settings, clock)
    assert copies(directory, shared) == 1
    assert copies(directory, own.emails[0]) == 1  # an address of one's own is mailed as before
    assert await inbox_notices(pool, subject_id) == sorted(recipient.id for recipient in [*seven, own])
    # the one mail is for all seven: more than a few to name, greeted together; one's own mail greets one
    assert greetings(directory, shared) == ["Kính gửi các đồng chí,"]
    assert greetings(directory, own.emails[0]) == ["Kính gửi đồng chí Trần Thị Lan,"]

    # the fact redelivered, or the service restarted: nothing new; the alert reaching an eighth member sharing the
    # address later (a new member): their own notice, and no second mail to the address
    assert await raise_now(pool, settings, clock, probation([*seven, own], subject_id)) == 0
    eighth = members(1, shared.upper())
    assert await raise_now(pool, settings, clock, probation(eighth, subject_id)) == 1
    await deliver_all(pool, settings, clock)
    assert copies(directory, shared) + copies(directory, shared.upper()) == 1
    assert eighth[0].id in await inbox_notices(pool, subject_id)


async def test_a_cell_notice_mails_a_shared_address_once_however_its_deliveries_are_batched(
    pool: asyncpg.Pool, settings: Settings, sink: tuple[Path, int]
) -> None:
    """One text for all, sent in rounds of 3 deliveries: each round's mail named the shared address again."""
    directory, port = sink
    settings = settings.model_copy(update={"smtp_port": port, "delivery_batch_size": 3})
    clock = Clock(datetime.now(VIETNAM_TZ))
    shared = f"{random_id('chibo')}@example.vn"
    seven, subject_id = members(7, shared), random_id("mtg")
    assert await raise_now(pool, settings, clock, notice(seven, subject_id)) == 7
    await deliver_all(pool, settings, clock)
    assert copies(directory, shared) == 1
    assert len(await inbox_notices(pool, subject_id)) == 7


async def inbox_greetings(pool: asyncpg.Pool, subject_id: str) -> dict[str, str]:
    """The greeting (first line) of each recipient's own notification about the subject, by recipient name."""
    rows = await pool.fetch("SELECT recipient_name, body FROM notification WHERE subject_id = $1", subject_id)
    return {row["recipient_name"]: row["body"].splitlines()[0] for row in rows}


async def test_a_personal_mail_to_a_shared_mailbox_greets_every_member_it_serves_by_name(
    pool: asyncpg.Pool, settings: Settings, sink: tuple[Path, int]
) -> None:
    """Trial: a probation alert to two members sharing a mailbox went out greeting the first alone ("Kính gửi đồng
    chí Nguyễn Văn An,") though it was the only mail either got; their inbox notices stay each their own."""
    directory, port = sink
    settings = settings.model_copy(update={"smtp_port": port})
    clock = Clock(datetime.now(VIETNAM_TZ))
    shared, subject_id = f"{random_id('chibo')}@example.vn", random_id("dv")
    an = Recipient(id=random_id("dv"), kind="person", name="Nguyễn Văn An", emails=(shared,))
    binh = Recipient(id=random_id("dv"), kind="person", name="Trần Thị Bình", emails=(shared.upper(),))
    assert await raise_now(pool, settings, clock, probation([an, binh], subject_id)) == 2
    await deliver_all(pool, settings, clock)
    assert greetings(directory, shared) == ["Kính gửi các đồng chí Nguyễn Văn An và Trần Thị Bình,"]
    assert await inbox_greetings(pool, subject_id) == {
        "Nguyễn Văn An": "Kính gửi đồng chí Nguyễn Văn An,",
        "Trần Thị Bình": "Kính gửi đồng chí Trần Thị Bình,",
    }


async def test_a_committee_and_a_member_sharing_an_address_are_both_greeted(
    pool: asyncpg.Pool, settings: Settings, sink: tuple[Path, int]
) -> None:
    """A superior committee whose contact address is also its officer's: one mail naming the committee, then the
    member."""
    directory, port = sink
    settings = settings.model_copy(update={"smtp_port": port})
    clock = Clock(datetime.now(VIETNAM_TZ))
    shared, subject_id = f"{random_id('dux')}@example.vn", random_id("dv")
    officer = Recipient(id=random_id("dv"), kind="person", name="Lê Văn Cường", emails=(shared,))
    committee = Recipient(id=random_id("dux"), kind="committee", name="Đảng ủy xã Đông Hòa", emails=(shared,))
    assert await raise_now(pool, settings, clock, probation([officer, committee], subject_id)) == 2
    await deliver_all(pool, settings, clock)
    assert greetings(directory, shared) == ["Kính gửi Đảng ủy xã Đông Hòa và đồng chí Lê Văn Cường,"]


def bodies(directory: Path, address: str) -> list[str]:
    """The text of each mail the sink kept for the address."""
    return [
        plain_text(message_from_bytes(path.read_bytes()))
        for path in sorted(directory.glob("*.eml"))
        if address in envelope_recipients(path.read_bytes())
    ]


@pytest.mark.parametrize("monitor_first", [False, True])
async def test_a_monitor_sharing_a_members_mailbox_gets_their_own_notice_and_the_members_theirs(
    pool: asyncpg.Pool, settings: Settings, sink: tuple[Path, int], monitor_first: bool
) -> None:
    """Trial (h257's MONITOR_BODIES): a cell's upper-level monitor whose address is a member's got the members' text,
    greeted with them, asked to report an absence to the cell secretary (the member planned first held the mailbox
    for the alert), or the member got the monitor's (the monitor first). DOMAIN.md sends a cell's notice to every
    expected member and to the upper-level monitor, each once: the mailbox gets each text once, the members' greeting
    the members, the monitor's greeting the monitor, whatever the order; raising it again mails nothing more."""
    directory, port = sink
    settings = settings.model_copy(update={"smtp_port": port})
    clock = Clock(datetime.now(VIETNAM_TZ))
    shared, subject_id = f"{random_id('chibo')}@example.vn", random_id("mtg")
    two = members(2, shared)
    monitor = Recipient(id=random_id("uv"), kind="person", name="Phan Quốc Tuấn", emails=(shared.upper(),))
    everyone = [monitor, *two] if monitor_first else [*two, monitor]
    alert = notice(everyone, subject_id, monitors=(monitor,))
    assert await raise_now(pool, settings, clock, alert) == 3
    await deliver_all(pool, settings, clock)
    mails = sorted(bodies(directory, shared) + bodies(directory, shared.upper()))
    assert len(mails) == 2, mails
    members_mail, monitors_mail = sorted(mails, key=lambda body: "chỉ đạo" in body)
    assert members_mail.splitlines()[0] == f"Kính gửi các đồng chí đảng viên {CELL},"
    assert "Phan Quốc Tuấn" not in members_mail and "chỉ đạo" not in members_mail
    assert monitors_mail.splitlines()[0] == "Kính gửi đồng chí Phan Quốc Tuấn,"
    assert "Kính mời đồng chí sắp xếp thời gian dự và chỉ đạo buổi sinh hoạt của chi bộ." in monitors_mail
    assert "Nguyễn Văn" not in monitors_mail and "các đồng chí" not in monitors_mail
    assert await inbox_notices(pool, subject_id) == sorted(recipient.id for recipient in everyone)

    # redelivered, or one more member and one more monitor sharing the mailbox later: no mail of either text again
    assert await raise_now(pool, settings, clock, alert) == 0
    newcomer = members(1, shared)[0]
    second = Recipient(id=random_id("uv"), kind="person", name="Đỗ Minh Quân", emails=(shared,))
    assert await raise_now(pool, settings, clock, notice([newcomer, second], subject_id, monitors=(second,))) == 2
    await deliver_all(pool, settings, clock)
    assert len(bodies(directory, shared) + bodies(directory, shared.upper())) == 2


async def prune(pool: asyncpg.Pool, settings: Settings, clock: Clock) -> list[list[str]]:
    """The day's prune of held addresses as the schedule runs it (batch after batch, each in its own transaction
    with the job's cursor); the cursors (keys) of the unfinished batches."""
    job = Job(id=0, kind=DAILY_MAIL_PRUNE, subject_id=clock.value.date().isoformat(), due_at=clock.value, attempts=0)
    cursors: list[list[str]] = []
    for _ in range(100_000):
        async with NotificationsUnitOfWork(pool, settings=settings, clock=clock) as uow:
            ran = await run_job(job, uow)
            await uow.commit()
        if ran.resume_after is None:
            return cursors
        cursors.append(json.loads(ran.resume_after))
        job = replace(job, cursor=ran.resume_after)
    raise AssertionError("the prune never finished")


async def held(pool: asyncpg.Pool, subject_ids: list[str]) -> set[str]:
    """Those of the subjects whose alert still holds an address."""
    rows = await pool.fetch("SELECT subject_id FROM mail_address WHERE subject_id = ANY($1::text[])", subject_ids)
    return {row["subject_id"] for row in rows}


@pytest.mark.parametrize("batch", [5000, 1])
async def test_the_daily_prune_drops_old_holds_and_keeps_those_an_alert_may_still_need(
    pool: asyncpg.Pool, settings: Settings, sink: tuple[Path, int], batch: int
) -> None:
    """mail_address kept every alert's addresses forever: the daily prune drops those taken more than
    `mail_address_retention_days` ago, unless their meeting is still ahead (a newcomer sharing the mailbox is told
    of it), in batches of `prune_batch_size` rows; a recent alert raised again still mails the address nothing."""
    directory, port = sink
    settings = settings.model_copy(update={"smtp_port": port, "prune_batch_size": batch})
    now = datetime.now(VIETNAM_TZ)
    old = now - timedelta(days=settings.mail_address_retention_days + 30)
    shared = f"{random_id('chibo')}@example.vn"
    old_probation, recent_probation = random_id("dv"), random_id("dv")
    ahead, held_long_ago = random_id("mtg"), random_id("mtg")
    await pool.execute(
        "INSERT INTO meeting (meeting_id, scheduled_starts_at, rescheduled_starts_at)"
        " VALUES ($1, $2, $3), ($4, $5, NULL)",
        ahead,
        old + timedelta(days=7),
        now + timedelta(days=300),  # moved since, far ahead: newcomers are told of it until then
        held_long_ago,
        old + timedelta(days=7),
    )
    clock = Clock(old)
    assert await raise_now(pool, settings, clock, probation(members(2, shared), old_probation)) == 2
    assert await raise_now(pool, settings, clock, notice(members(2, shared), ahead)) == 2
    assert await raise_now(pool, settings, clock, notice(members(2, shared), held_long_ago)) == 2
    clock.value = now - timedelta(days=settings.mail_address_retention_days - 30)
    two = members(2, shared)
    assert await raise_now(pool, settings, clock, probation(two, recent_probation)) == 2
    await deliver_all(pool, settings, Clock(now))
    assert copies(directory, shared) == 4  # one mail an alert (the notice of the meeting ahead not yet due: sent)
    everyone = [old_probation, recent_probation, ahead, held_long_ago]
    assert await held(pool, everyone) == set(everyone)

    clock.value = now
    cursors = await prune(pool, settings, clock)
    assert await held(pool, everyone) == {recent_probation, ahead}
    assert cursors == sorted(cursors)  # the cursor moves on, batch after batch
    if batch == 1:
        assert len(cursors) >= 4

    # the recent alert redelivered, then raised for one more member sharing the mailbox: no second mail
    assert await raise_now(pool, settings, clock, probation(two, recent_probation)) == 0
    assert await raise_now(pool, settings, clock, probation(members(1, shared), recent_probation)) == 1
    assert await raise_now(pool, settings, clock, notice(members(1, shared), ahead)) == 1
    await deliver_all(pool, settings, clock)
    assert copies(directory, shared) == 4


async def held_keys(pool: asyncpg.Pool, subject_id: str) -> list[tuple[str, str]]:
    """The (address, part) keys the subject's alert still holds, in key order."""
    rows = await pool.fetch(
        "SELECT address, part FROM mail_address WHERE subject_id = $1 ORDER BY address, part", subject_id
    )
    return [(row["address"], row["part"]) for row in rows]


async def test_a_prune_cursor_of_four_fields_from_before_the_part_resumes_after_that_keys_common_text(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """A day's prune interrupted before notifications migration 0020 gave mail_address its `part` left its job a cursor
    of four fields (rule, subject, period, address): the batch that resumes from it, after the upgrade, starts after
    that key's common text (part ""), so it reads that address's monitor text next, then the next address, and never
    the row the old batch had read already; its own cursor has the five fields."""
    clock = Clock(datetime.now(VIETNAM_TZ) - timedelta(days=settings.mail_address_retention_days + 30))
    subject_id, prefix = random_id("mtg"), random_id("chibo")
    first, second = f"{prefix}-a@example.vn", f"{prefix}-b@example.vn"
    monitor = Recipient(id=random_id("uv"), kind="person", name="Phan Quốc Tuấn", emails=(first,))
    everyone = [*members(1, first), monitor, *members(1, second)]
    assert await raise_now(pool, settings, clock, notice(everyone, subject_id, monitors=(monitor,))) == 3
    assert await held_keys(pool, subject_id) == [(first, ""), (first, "monitor"), (second, "")]

    old_cursor = json.dumps([r.MEETING_SCHEDULED, subject_id, "scheduled", first])  # as a batch before 0020 left it
    today = datetime.now(VIETNAM_TZ)
    job = Job(id=0, kind=DAILY_MAIL_PRUNE, subject_id=today.date().isoformat(), due_at=today, attempts=0)
    job = replace(job, cursor=old_cursor)
    settings = settings.model_copy(update={"prune_batch_size": 2})
    async with NotificationsUnitOfWork(pool, settings=settings, clock=Clock(today)) as uow:
        ran = await run_job(job, uow)
        await uow.commit()
    # the two rows after the old key's common text, both old and their meeting not ahead: pruned; the row the batch
    # before the upgrade had read (and kept, or it would be gone) is not read again
    assert await held_keys(pool, subject_id) == [(first, "")]
    assert ran.resume_after is not None
    assert json.loads(ran.resume_after) == [r.MEETING_SCHEDULED, subject_id, "scheduled", second, ""]


def test_the_holds_outlive_every_alert_that_may_be_raised_again(settings: Settings) -> None:
    """A retention shorter than the probation lead time (180 days at most) would mail a sharing member twice."""
    with pytest.raises(ValidationError, match="CHIBO_MAIL_ADDRESS_RETENTION_DAYS must exceed 181 days"):
        Settings(**(settings.model_dump() | {"mail_address_retention_days": 181}))
    assert Settings(**(settings.model_dump() | {"mail_address_retention_days": 182})).mail_address_retention_days == 182


async def test_monitors_sharing_a_mailbox_are_addressed_as_many_by_their_one_mail(
    pool: asyncpg.Pool, settings: Settings, sink: tuple[Path, int]
) -> None:
    """Follow-up of the monitors' own text: two upper-level monitors of one cell sharing a mailbox got one mail
    greeting both ("Kính gửi các đồng chí A và B,") whose body still asked one reader ("Kính mời đồng chí …"); each
    monitor's inbox notice stays their own, in the singular, and a reason quoting "đồng chí" is kept as written."""
    directory, port = sink
    settings = settings.model_copy(update={"smtp_port": port})
    clock = Clock(datetime.now(VIETNAM_TZ))
    shared = f"{random_id('dux')}@example.vn"
    tuan = Recipient(id=random_id("uv"), kind="person", name="Phan Quốc Tuấn", emails=(shared,))
    quan = Recipient(id=random_id("uv"), kind="person", name="Đỗ Minh Quân", emails=(shared,))
    scheduled, cancelled = random_id("mtg"), random_id("mtg")
    assert await raise_now(pool, settings, clock, notice([tuan, quan], scheduled, monitors=(tuan, quan))) == 2
    cancel = replace(
        notice([tuan, quan], cancelled, monitors=(tuan, quan)),
        rule=r.MEETING_CANCELLED,
        period="cancelled",
    )
    cancel = replace(cancel, values=cancel.values | {"reason": "đồng chí bí thư đi công tác"})
    assert await raise_now(pool, settings, clock, cancel) == 2
    await deliver_all(pool, settings, clock)
    mails = bodies(directory, shared)
    assert len(mails) == 2, mails
    schedule_mail, cancel_mail = sorted(mails, key=lambda body: "hủy" in body)
    assert schedule_mail.splitlines()[0] == "Kính gửi các đồng chí Phan Quốc Tuấn và Đỗ Minh Quân,"
    assert "Xin thông báo tới các đồng chí buổi sinh hoạt thường kỳ" in schedule_mail
    assert "Kính mời các đồng chí sắp xếp thời gian dự và chỉ đạo buổi sinh hoạt của chi bộ." in schedule_mail
    assert "tới đồng chí" not in schedule_mail and "mời đồng chí" not in schedule_mail
    assert "Lý do: đồng chí bí thư đi công tác." in cancel_mail
    assert cancel_mail.rstrip().endswith("hệ thống sẽ thông báo tới các đồng chí.")
    rows = await pool.fetch("SELECT body FROM notification WHERE subject_id = $1", scheduled)
    assert len(rows) == 2
    for row in rows:  # each inbox notice is one monitor's own
        assert "Kính mời đồng chí sắp xếp thời gian dự" in row["body"] and "các đồng chí" not in row["body"]
