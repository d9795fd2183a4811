"""Members crossing an absence threshold at one meeting in one alert per recipient and rule (DOMAIN.md "Alerts": a
member absent more than 3 meetings in a row, or unexcused 3 months in a year: the cell committee and the superior
committee, each recipient once; committees prefer a digest to a stream of single alerts). Meetings announces a
roster's members (member.attendance.updated.v1, one per member) in one transaction, which its relay sends as one
batch message: 4 members crossing both thresholds at one meeting mailed each recipient 4 alerts of each rule. The
running service against the real broker, database and SMTP server: one mail per rule naming all of them, none more
on redelivery, one more naming only whom a corrected roster adds."""

from collections import Counter

import asyncpg

from services.notifications.bootstrap import build_app
from services.notifications.config import Settings
from shared.envelope import CloudEvent
from shared.topology import NOTIFICATIONS_EVENTS
from tests.notifications.conftest import SmtpInbox
from tests.notifications.events import Province, event, publish, publish_batches
from tests.notifications.test_absences_in_one_alert import member
from tests.notifications.test_service import deliveries_settled, plain_text, setup_projected
from tests.support.ids import random_id
from tests.support.running import eventually, running_app, settled

RULES = ("consecutive_absences", "unexcused_months")
CROSSING = (("Trần Văn Hải", 4), ("Ngô Thị Lan", 5), ("Đỗ Minh Quân", 4))
"""Plain members crossing both thresholds beside the province's own (Lê Văn Đức, 4 in a row), their runs."""


def announced(p: Province, member_id: str, name: str, meeting_id: str, *, run: int, sequence: int) -> CloudEvent:
    """member.attendance.updated.v1 of a member of the province's cell after the meeting's roster: `run` meetings in
    a row missed, unexcused in 3 months of the last 12."""
    data = {
        "member_id": member_id,
        "cell_id": p.cell,
        "meeting_id": meeting_id,
        "full_name": name,
        "consecutive_absences": run,
        "consecutive_excused_absences": 0,
        "unexcused_months_last_year": 3,
        "sequence": sequence,
    }
    return event("member.attendance.updated.v1", data, source="urn:chibo:meetings")


def crossing_mails(inbox: SmtpInbox, address: str, rule: str) -> list[str]:
    """The subject and plain body of each mail of the rule to the address."""
    return [f"{m['Subject']}\n{plain_text(m)}" for m in inbox.to(address) if str(m["X-Chibo-Rule"]) == rule]


async def test_four_members_crossing_at_one_meeting_mail_each_recipient_once_per_rule_and_a_correction_once_more(
    settings: Settings, smtp: tuple[SmtpInbox, int], amqp_url: str, db: asyncpg.Connection
) -> None:
    inbox, _ = smtp
    p, meeting_id = Province(), random_id("mtg")
    hoa, mai = random_id("uv"), random_id("dv")
    others = [random_id("dv") for _ in CROSSING]
    recipients = [p.email(p.secretary), p.email(p.deputy), p.email(hoa), p.email(p.committee)]
    first = [
        announced(p, member_id, name, meeting_id, run=run, sequence=1)
        for member_id, (name, run) in zip([p.member, *others], [("Lê Văn Đức", 4), *CROSSING], strict=True)
    ]
    async with running_app(build_app(settings)):
        await publish(amqp_url, p.setup())
        people = [member(p, hoa, "Phạm Thị Hoa", "committee_member"), member(p, mai, "Vũ Thị Mai")]
        await publish(amqp_url, [*people, *[member(p, i, n) for i, (n, _) in zip(others, CROSSING, strict=True)]])
        await setup_projected(db, p)
        await eventually(
            lambda: db.fetchval("SELECT count(*) = 5 FROM notifications.member WHERE id = ANY($1)", [hoa, mai, *others])
        )
        await publish_batches(amqp_url, first)  # one roster's announcements: one batch message, as meetings' relay
        await eventually(lambda: all(crossing_mails(inbox, a, rule) for a in recipients for rule in RULES), timeout=60)

        before = settled(NOTIFICATIONS_EVENTS.name)
        await publish_batches(amqp_url, first)  # redelivered
        await publish(amqp_url, first[:2])  # and some one by one
        await eventually(lambda: settled(NOTIFICATIONS_EVENTS.name) - before >= 3, timeout=60)
        await eventually(lambda: deliveries_settled(db, p.cell, set(RULES)), timeout=60, interval=0.5)
        for address in recipients:
            [run] = crossing_mails(inbox, address, "consecutive_absences")
            assert run.startswith("4 đảng viên vắng quá 3 buổi liên tiếp: Chi bộ khu phố Đông"), run
            assert (
                "Các đồng chí Lê Văn Đức (4 buổi), Trần Văn Hải (4 buổi), Ngô Thị Lan (5 buổi) và Đỗ Minh Quân"
                " (4 buổi) thuộc Chi bộ khu phố Đông đã vắng mặt quá 3 buổi sinh hoạt liên tiếp." in run
            ), run
            [months] = crossing_mails(inbox, address, "unexcused_months")
            assert months.startswith("4 đảng viên vắng không lý do từ 3 tháng trở lên trong năm"), months
            assert (
                "Các đồng chí Lê Văn Đức, Trần Văn Hải, Ngô Thị Lan và Đỗ Minh Quân thuộc Chi bộ khu phố Đông đã vắng"
                " sinh hoạt không có lý do chính đáng trong 3 tháng của 12 tháng qua, đều thuộc trường hợp phải xem"
                " xét xóa tên" in months
            ), months

        corrected = announced(p, mai, "Vũ Thị Mai", meeting_id, run=4, sequence=1)
        await publish_batches(amqp_url, [corrected, corrected])
        await eventually(
            lambda: all(len(crossing_mails(inbox, a, rule)) == 2 for a in recipients for rule in RULES), timeout=60
        )
        await eventually(lambda: deliveries_settled(db, p.cell, set(RULES)), timeout=60, interval=0.5)
    counts = Counter(
        (address, rule) for address in recipients for rule in RULES for _ in crossing_mails(inbox, address, rule)
    )
    assert counts == dict.fromkeys(((a, rule) for a in recipients for rule in RULES), 2), counts
    for address in recipients:
        added = crossing_mails(inbox, address, "consecutive_absences")[1]
        assert added.startswith("Bổ sung đảng viên vắng 4 buổi liên tiếp: Vũ Thị Mai, Chi bộ khu phố Đông"), added
        assert "Theo số liệu điểm danh được cập nhật, đồng chí Vũ Thị Mai (Chi bộ khu phố Đông) cũng đã vắng" in added
        assert "Lê Văn Đức" not in added
        added = crossing_mails(inbox, address, "unexcused_months")[1]
        assert added.startswith("Bổ sung đảng viên vắng không lý do 3 tháng trong năm: Vũ Thị Mai"), added
