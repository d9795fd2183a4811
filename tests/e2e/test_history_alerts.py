"""A province loads a year of history, then a current fact arrives (trial 15 #4), through the real gateway, meetings,
evaluation and notifications on a real broker and database: what lies entirely in the history stays silent (DOMAIN.md
"Alerts" are about what happens now; facts about meetings older than the history cutoff raise nothing), and what the
current fact itself adds still alerts.

- A member absent without reason 5 meetings in a row months ago (5 unexcused months in the year), back since, excused
  at the last meeting of the history, present at the current one: no consecutive_absences, no unexcused_months.
- A member unexcused in the history's last 3 months, present at the current meeting: no unexcused_months.
- A member excused at the history's last 3 meetings and at the current one: 4 in a row now, alerted once.
- A probationer whose 12 months ended a month before the member database was loaded: no probation_ending.
"""

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.support.ids import random_id
from tests.support.running import eventually
from tests.support.system import RunningSystem, issue_token

pytestmark = pytest.mark.e2e
SOURCE = "urn:test:member-database"
HISTORY_MEETINGS = 12
SPACING_DAYS = 32
"""Days between two meetings of the history: more than a month, so each falls in a month of its own."""
LAST_HISTORY_DAYS_AGO = 20
"""The history's last meeting: older than the history cutoff (14 days)."""


def cloudevent(event_type: str, data: dict[str, Any], *, at: datetime) -> dict[str, Any]:
    """One CloudEvent as the member database would send it."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": SOURCE,
        "type": event_type,
        "time": at.isoformat(),
        "datacontenttype": "application/json",
        "data": data,
    }


class HistoricProvince:
    """A committee and a cell: a secretary, a deputy, the members `back` (absent 5 in a row long ago), `months`
    (unexcused in the last 3 months), `going_on` (excused at the last 3 meetings) and a probationer whose probation
    ended, all with fresh ids; `now` is when the test began."""

    def __init__(self) -> None:
        self.now = datetime.now(VIETNAM_TZ)
        self.committee = random_id("ward")
        self.cell = random_id("cell")
        self.secretary, self.deputy = random_id("mem"), random_id("mem")
        self.back, self.months, self.going_on = random_id("mem"), random_id("mem"), random_id("mem")
        self.probationer = random_id("mem")
        self.cell_name = f"Chi bộ thôn {self.cell[-4:]}"
        self.loaded_at = self.now - timedelta(days=HISTORY_MEETINGS * SPACING_DAYS + 40)

    def setup(self) -> list[dict[str, Any]]:
        """The tree and the members, as loaded before the history."""
        at = self.loaded_at
        events = [
            cloudevent(
                "org.unit.upserted.v1",
                {
                    "id": self.committee,
                    "name": "Đảng ủy xã Hòa Bình",
                    "kind": "committee",
                    "parent_id": None,
                    "contact_emails": [f"{self.committee}@example.vn"],
                },
                at=at,
            ),
            cloudevent(
                "org.unit.upserted.v1",
                {
                    "id": self.cell,
                    "name": self.cell_name,
                    "kind": "cell",
                    "parent_id": self.committee,
                    "category": "residential",
                },
                at=at,
            ),
        ]
        people = [
            (self.secretary, "Nguyễn Văn Hùng", "secretary", "official", None),
            (self.deputy, "Trần Thị Lan", "deputy_secretary", "official", None),
            (self.back, "Lê Hữu Phúc", "member", "official", None),
            (self.months, "Phạm Thị Mai", "member", "official", None),
            (self.going_on, "Hoàng Văn Nam", "member", "official", None),
            # admitted more than 12 months before the load: the probation ended before anyone here knew of it
            (self.probationer, "Võ Thị Hạnh", "member", "probationary", (at - timedelta(days=400)).date()),
        ]
        for member_id, name, role, status, admitted_on in people:
            data: dict[str, Any] = {
                "id": member_id,
                "full_name": name,
                "cell_id": self.cell,
                "status": status,
                "role": role,
                "email": f"{member_id}@example.vn",
            }
            if admitted_on is not None:
                data["admitted_on"] = admitted_on.isoformat()
            events.append(cloudevent("member.upserted.v1", data, at=at))
        return events

    def status(self, member_id: str, index: int) -> str:
        """The member's status at history meeting `index` (0 the oldest, HISTORY_MEETINGS the current one)."""
        last = HISTORY_MEETINGS - 1
        if member_id == self.back:
            return "absent" if 2 <= index <= 6 else "excused" if index == last else "present"
        if member_id == self.months:
            return "absent" if last - 2 <= index <= last else "present"
        if member_id == self.going_on:
            return "excused" if index >= last - 2 else "present"
        return "present"

    def meeting(self, index: int, starts: datetime) -> list[dict[str, Any]]:
        """A held regular meeting's schedule, roster and minutes, each stamped when it would have happened."""
        meeting_id = f"{self.cell}-m{index:02d}"
        members = [self.secretary, self.deputy, self.back, self.months, self.going_on, self.probationer]
        records = []
        for member_id in members:
            record = {"member_id": member_id, "status": self.status(member_id, index)}
            if record["status"] == "excused":
                record["reason"] = "Đi công tác"
            records.append(record)
        present = sum(1 for record in records if record["status"] == "present")
        return [
            cloudevent(
                "meeting.scheduled.v1",
                {
                    "meeting_id": meeting_id,
                    "cell_id": self.cell,
                    "kind": "regular",
                    "starts_at": starts.isoformat(),
                    "location": "Nhà văn hóa thôn",
                    "agenda": ["Kiểm điểm nghị quyết tháng trước"],
                    "committee_prepared": True,
                },
                at=starts - timedelta(days=5),
            ),
            cloudevent(
                "attendance.recorded.v1",
                {"meeting_id": meeting_id, "records": records},
                at=starts + timedelta(minutes=10),
            ),
            cloudevent(
                "minutes.submitted.v1",
                {
                    "meeting_id": meeting_id,
                    "started_at": starts.isoformat(),
                    "ended_at": (starts + timedelta(minutes=100)).isoformat(),
                    "chair_id": self.secretary,
                    "recorder_id": self.deputy,
                    "speakers": [self.secretary, self.deputy],
                    "content": "Đánh giá kết quả thực hiện nhiệm vụ tháng",
                    "conclusions": "Chi bộ thống nhất các chỉ tiêu tháng tới",
                    "resolutions": [
                        {"text": "Nghị quyết tháng", "votes_for": present, "votes_against": 0, "abstentions": 0}
                    ],
                    "tasks": [],
                },
                at=starts + timedelta(minutes=105),
            ),
        ]

    def start_of(self, index: int) -> datetime:
        """When history meeting `index` started (HISTORY_MEETINGS: the current one, two days ago)."""
        days_ago = (
            2 if index == HISTORY_MEETINGS else LAST_HISTORY_DAYS_AGO + (HISTORY_MEETINGS - 1 - index) * SPACING_DAYS
        )
        return (self.now - timedelta(days=days_ago)).replace(hour=19, minute=30, second=0, microsecond=0)

    def history(self) -> list[dict[str, Any]]:
        """The year of meetings, oldest first, all older than the history cutoff."""
        return [event for index in range(HISTORY_MEETINGS) for event in self.meeting(index, self.start_of(index))]

    def current(self) -> list[dict[str, Any]]:
        """This month's meeting, held two days ago: the fact that comes after the history."""
        return self.meeting(HISTORY_MEETINGS, self.start_of(HISTORY_MEETINGS))


@pytest.fixture(scope="module")
def province() -> HistoricProvince:
    """The province's facts, built once."""
    return HistoricProvince()


@pytest.fixture
async def database(system: RunningSystem) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the system's database, to read what notifications decided."""
    connection = await asyncpg.connect(system.env["CHIBO_DATABASE_URL"])
    try:
        yield connection
    finally:
        await connection.close()


async def send(system: RunningSystem, events: list[dict[str, Any]]) -> None:
    """POST the events as one batch with a province-wide integration account; every one accepted."""
    token = issue_token(system, role="integration", unit=None, sub=random_id("integration"), province_wide=True)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as client:
        response = await client.post(
            "/v1/events",
            content=json.dumps(events, ensure_ascii=False).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/cloudevents-batch+json"},
        )
    assert response.status_code == 200, response.text
    assert [result["outcome"] for result in response.json()["results"]] == ["accepted"] * len(events), response.text


async def figures(database: asyncpg.Connection, member_id: str) -> list[tuple[int, int, bool]]:
    """The member's figures notifications took in, (in a row, unexcused months, about a recent meeting), in order."""
    rows = await database.fetch(
        "SELECT consecutive_absences, unexcused_months, recent FROM notifications.member_figures"
        " WHERE member_id = $1 ORDER BY sequence, version_time, version_ns, cause_id, event_id",
        member_id,
    )
    return [(row["consecutive_absences"], row["unexcused_months"], row["recent"]) for row in rows]


async def alerts(database: asyncpg.Connection, member_ids: list[str]) -> list[tuple[str, str, str]]:
    """(rule, member, recipient) of every notification about the members: its subject, or, for an absence alert
    (one per recipient per meeting, its subject the meeting), each member whose figure of that meeting anchors it."""
    rows = await database.fetch(
        "SELECT rule, subject_id, recipient_id FROM notifications.notification WHERE subject_id = ANY($1::text[])"
        " UNION ALL SELECT n.rule, f.member_id, n.recipient_id FROM notifications.notification AS n"
        " JOIN notifications.member_figures AS f ON f.meeting_id = n.subject_id AND f.member_id = ANY($1::text[])"
        " AND ((n.rule = 'consecutive_absences' AND f.run_alerted)"
        " OR (n.rule = 'unexcused_months' AND f.months_alerted))"
        " ORDER BY 1, 2, 3",
        member_ids,
    )
    return [(row["rule"], row["subject_id"], row["recipient_id"]) for row in rows]


async def test_a_loaded_history_stays_silent_when_a_current_fact_comes_and_what_is_new_still_alerts(
    system: RunningSystem, province: HistoricProvince, database: asyncpg.Connection
) -> None:
    p = province
    await send(system, p.setup() + p.history())

    async def history_taken_in() -> bool:
        probation_checked = await database.fetchval(
            "SELECT done_at IS NOT NULL FROM notifications.schedule WHERE kind = 'member.probation'"
            " AND subject_id = $1",
            p.probationer,
        )
        last = [await figures(database, member_id) for member_id in (p.back, p.months, p.going_on)]
        return bool(probation_checked) and [f[-1][:2] if f else None for f in last] == [(1, 5), (3, 3), (3, 0)]

    await eventually(history_taken_in, timeout=120)
    everyone = [p.secretary, p.deputy, p.back, p.months, p.going_on, p.probationer]
    assert await alerts(database, everyone) == []  # the load itself is silent
    loaded = [figure for member_id in everyone for figure in await figures(database, member_id)]
    assert loaded and not any(recent for _, _, recent in loaded)  # every figure about a meeting of the history

    await send(system, p.current())

    async def going_on_told() -> list[tuple[str, str, str]]:
        return [alert for alert in await alerts(database, [p.going_on]) if alert[0] == "consecutive_absences"]

    told = await eventually(going_on_told, timeout=120)
    # the cell committee (secretary, deputy) and the superior committee, once each
    assert sorted(recipient for _, _, recipient in told) == sorted([p.secretary, p.deputy, p.committee])

    async def current_figures_in() -> bool:
        back, months = await figures(database, p.back), await figures(database, p.months)
        return back[-1] == (0, 5, True) and months[-1] == (0, 3, True)

    await eventually(current_figures_in, timeout=120)
    silent = [alert for alert in await alerts(database, everyone) if alert[1] != p.going_on]
    assert silent == [], "alerts about runs, months and a probation that lie entirely in the history"
