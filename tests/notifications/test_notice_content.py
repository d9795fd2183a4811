"""Meeting notices tell members time, place and content (DOMAIN.md): the schedule's agenda, bounded, or that it is the
regular monthly meeting; a move says the old and the new time and why. One mail still carries a notice to a whole
cell (real database, real SMTP server)."""

from datetime import datetime, timedelta
from email.message import EmailMessage

import asyncpg

from services.notifications.channels import SmtpSender
from services.notifications.config import Settings
from services.notifications.handlers.deliveries import deliver_due
from services.notifications.templates import format_when
from services.notifications.unit_of_work import uow_factory
from shared.periods import VIETNAM_TZ
from tests.notifications.conftest import SmtpInbox
from tests.notifications.events import Province, event
from tests.notifications.fakes import Clock
from tests.notifications.test_handlers import handle
from tests.support.ids import random_id

AGENDA = [
    "Kiểm điểm việc thực hiện nghị quyết tháng trước",
    "Triển khai Chỉ thị 50-CT/TW về nâng cao chất lượng sinh hoạt chi bộ",
    "Công tác phát triển đảng viên",
    "Thu đảng phí quý IV",
    "Vệ sinh môi trường khu dân cư " + "và các việc liên quan " * 20,
    "Chuẩn bị Đại hội chi bộ",
    "Việc khác",
]


async def bodies(pool: asyncpg.Pool, subject_id: str, rule: str) -> set[tuple[str, str]]:
    """The distinct (title, body) of a meeting's notices of one rule to the cell's members (not its monitor's)."""
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT DISTINCT title, body FROM notification WHERE subject_id = $1 AND rule = $2 AND body NOT LIKE $3",
            subject_id,
            rule,
            "Kính gửi đồng chí %",  # a monitor's own text greets them by name; the cell's is one for all its members
        )
    return {(row["title"], row["body"]) for row in rows}


def mails_about(inbox: SmtpInbox, cell_name: str, start: int) -> list[EmailMessage]:
    """The mails received since `start` whose text names the cell."""
    return [m for m in inbox.messages[start:] if cell_name in m.get_content()]


async def test_notices_carry_the_agenda_bounded_or_the_regular_meeting_and_a_move_its_old_time_and_reason(
    pool: asyncpg.Pool, settings: Settings, smtp: tuple[SmtpInbox, int]
) -> None:
    inbox, _ = smtp
    p = Province()
    clock = Clock(datetime.now(VIETNAM_TZ).replace(microsecond=0))
    await handle(pool, settings, clock, *p.setup())
    first_start = (clock.value + timedelta(days=6)).replace(hour=19, minute=30, second=0)
    with_agenda, regular = random_id("mtg"), random_id("mtg")
    await handle(
        pool,
        settings,
        clock,
        p.scheduled(with_agenda, first_start, agenda=AGENDA),
        p.scheduled(regular, first_start + timedelta(days=1), agenda=[]),
    )

    [(_, body)] = await bodies(pool, with_agenda, "meeting_scheduled")  # one text for the whole cell
    lines = body.splitlines()
    listed = lines[lines.index("Nội dung sinh hoạt:") + 1 :][:6]
    assert listed[:4] == [f"- {item}" for item in AGENDA[:4]]
    assert listed[4].startswith("- Vệ sinh môi trường khu dân cư và các việc liên quan") and listed[4].endswith("…")
    assert len(listed[4]) <= 2 + 200
    assert listed[5] == "- và 2 nội dung khác."
    assert "Chuẩn bị Đại hội chi bộ" not in body
    [(_, plain)] = await bodies(pool, regular, "meeting_scheduled")
    assert "Nội dung: sinh hoạt thường kỳ hằng tháng của chi bộ theo quy định." in plain

    new_start = first_start + timedelta(days=2, hours=-11)
    moved = event(
        "meeting.rescheduled.v1",
        {"meeting_id": with_agenda, "starts_at": new_start.isoformat(), "reason": "Trùng lịch họp dân"},
    )
    await handle(pool, settings, clock, moved)
    [(title, moved_body)] = await bodies(pool, with_agenda, "meeting_rescheduled")
    assert title.endswith(f"chuyển sang {format_when(new_start)}")
    assert (
        f"Buổi sinh hoạt thường kỳ của Chi bộ khu phố Đông dự kiến lúc {format_when(first_start)} được chuyển sang"
        f" lúc {format_when(new_start)} tại Nhà văn hóa khu phố Đông.\nLý do thay đổi: Trùng lịch họp dân."
        in moved_body
    )
    # the place did not change: the notice asks to note the new schedule, not a "new place" (a trial's reading)
    assert "lưu ý lịch mới" in moved_body and "địa điểm mới" not in moved_body

    # each notice still travels as one mail to the cell's members, and one to the monitor greeting them by name
    start = len(inbox.messages)
    # due as soon as stored (the database's now(), after the test's clock reading)
    factory = uow_factory(pool, settings=settings, clock=Clock(datetime.now(VIETNAM_TZ) + timedelta(minutes=1)))
    sender = SmtpSender(settings)
    try:
        while await deliver_due(factory, {"email": sender}):
            pass
    finally:
        await sender.aclose()
    mine = mails_about(inbox, "Chi bộ khu phố Đông", start)
    by_title = {str(mail["Subject"]): mail for mail in mine}
    notices = [mail for mail in mine if p.email(p.member) in inbox.envelopes[inbox.messages.index(mail)]]
    assert len(notices) == 3  # scheduled twice, moved once: one mail each
    for mail in notices:
        rcpt = inbox.envelopes[inbox.messages.index(mail)]
        assert {p.email(p.secretary), p.email(p.deputy), p.email(p.member)} <= set(rcpt)
        assert p.email(p.monitor) not in rcpt
    own = [mail for mail in mine if inbox.envelopes[inbox.messages.index(mail)] == [p.email(p.monitor)]]
    assert len(own) == 3 and all(mail.get_content().startswith("Kính gửi đồng chí ") for mail in own), own
    assert any("- và 2 nội dung khác." in mail.get_content() for mail in by_title.values())
