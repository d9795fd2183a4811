"""A meeting's unexcused absentees in one alert per recipient (a new-user trial: a roster of 4 unexcused absentees
mailed each of the 3 cell committee members 4 times, 12 mails; DOMAIN.md "Alerts": each recipient once, committees
prefer a digest to a stream of single alerts). The running service against the real broker, database and SMTP
server: one mail each naming every absentee, none more on redelivery, one more naming only whom a corrected roster
adds."""

from collections import Counter
from datetime import timedelta

import asyncpg

from services.notifications.bootstrap import build_app
from services.notifications.config import Settings
from shared.envelope import CloudEvent, now
from shared.topology import NOTIFICATIONS_EVENTS
from tests.notifications.conftest import SmtpInbox
from tests.notifications.events import Province, event, publish
from tests.notifications.test_service import deliveries_settled, plain_text, setup_projected
from tests.support.ids import random_id
from tests.support.running import eventually, running_app, settled

ABSENTEES = ("Trần Văn Hải", "Ngô Thị Lan", "Đỗ Minh Quân")
"""Plain members absent without reason beside the province's own (Lê Văn Đức)."""


def member(p: Province, member_id: str, name: str, role: str = "member") -> CloudEvent:
    """member.upserted.v1 of a member of the province's cell."""
    data = {"id": member_id, "full_name": name, "cell_id": p.cell, "status": "official", "role": role}
    return event("member.upserted.v1", data | {"email": p.email(member_id)})


def roster(meeting_id: str, p: Province, absent: list[str], present: list[str], *, minutes_ago: int) -> CloudEvent:
    """attendance.recorded.v1: `absent` without reason, `present` there, recorded `minutes_ago`."""
    records = [{"member_id": m, "status": "absent"} for m in absent] + [
        {"member_id": m, "status": "present"} for m in present
    ]
    data = {"meeting_id": meeting_id, "records": records}
    return event("attendance.recorded.v1", data, time=now() - timedelta(minutes=minutes_ago))


def absence_mails(inbox: SmtpInbox, address: str) -> list[str]:
    """The subject and plain body of each unexcused-absence mail to the address."""
    return [
        f"{m['Subject']}\n{plain_text(m)}" for m in inbox.to(address) if str(m["X-Chibo-Rule"]) == "unexcused_absence"
    ]


async def test_a_roster_of_four_absentees_mails_each_of_the_committee_once_naming_all_and_a_correction_once_more(
    settings: Settings, smtp: tuple[SmtpInbox, int], amqp_url: str, db: asyncpg.Connection
) -> None:
    inbox, _ = smtp
    p, meeting_id = Province(), random_id("mtg")
    hoa = random_id("uv")
    others = [random_id("dv") for _ in ABSENTEES]
    mai = random_id("dv")
    committee = [p.email(p.secretary), p.email(p.deputy), p.email(hoa)]
    absent = [p.member, *others]
    scheduled = p.scheduled(meeting_id, now() - timedelta(hours=3))
    minutes = p.minutes(meeting_id, now() - timedelta(hours=1))
    first = roster(meeting_id, p, absent, [p.secretary, p.deputy, hoa, mai], minutes_ago=30)
    async with running_app(build_app(settings)):
        await publish(amqp_url, p.setup())
        people = [member(p, hoa, "Phạm Thị Hoa", "committee_member"), member(p, mai, "Vũ Thị Mai")]
        await publish(amqp_url, [*people, *[member(p, i, n) for i, n in zip(others, ABSENTEES, strict=True)]])
        await setup_projected(db, p)
        await eventually(
            lambda: db.fetchval("SELECT count(*) = 5 FROM notifications.member WHERE id = ANY($1)", [hoa, mai, *others])
        )
        await publish(amqp_url, [scheduled, minutes, first])
        await eventually(lambda: all(absence_mails(inbox, address) for address in committee), timeout=60)

        before = settled(NOTIFICATIONS_EVENTS.name)
        await publish(amqp_url, [minutes, first, first])  # redelivered
        await eventually(lambda: settled(NOTIFICATIONS_EVENTS.name) - before >= 3, timeout=60)
        await eventually(lambda: deliveries_settled(db, p.cell, {"unexcused_absence"}), timeout=60, interval=0.5)
        for address in committee:
            [mail] = absence_mails(inbox, address)
            assert "4 đảng viên vắng mặt không lý do" in mail
            named = ["Lê Văn Đức", *ABSENTEES]
            assert "\nCác đồng chí " in mail and " vắng mặt không có lý do trong buổi" in mail, mail
            assert all(mail.count(name) == 1 for name in named), mail

        corrected = roster(meeting_id, p, [*absent, mai], [p.secretary, p.deputy, hoa], minutes_ago=10)
        await publish(amqp_url, [corrected, corrected])
        await eventually(lambda: all(len(absence_mails(inbox, a)) == 2 for a in committee), timeout=60)
        before = settled(NOTIFICATIONS_EVENTS.name)
        await publish(amqp_url, [first])  # the older roster arriving late changes nothing
        await eventually(lambda: settled(NOTIFICATIONS_EVENTS.name) - before >= 1, timeout=60)
        await eventually(lambda: deliveries_settled(db, p.cell, {"unexcused_absence"}), timeout=60, interval=0.5)
    counts = Counter(address for address in committee for _ in absence_mails(inbox, address))
    assert counts == dict.fromkeys(committee, 2), counts
    for address in committee:
        added = absence_mails(inbox, address)[1]
        assert added.startswith("Bổ sung đảng viên vắng mặt không lý do: Vũ Thị Mai"), added
        assert "đồng chí Vũ Thị Mai cũng vắng mặt không có lý do" in added
        assert "Lê Văn Đức" not in added
