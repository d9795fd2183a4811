"""attendance_news works out in SQL the figures domain.attendance_history works out in Python (issue 12: one
statement for a transaction's members instead of their rosters read into the service), over held meetings only
(minutes, not cancelled), and announces them."""

import random
from datetime import UTC, datetime, timedelta

import asyncpg

from services.meetings import domain
from services.meetings.repository.meetings import PgMeetingRepository

STATUSES = ["present", "excused", "absent", "exempt", "transferred"]
MEETING_IDS = ["a", "B", "b", "Z", "é", "z", "ä1", "A0", "m-10", "m-9", "m_1", "Ω"]
"""Ids whose order differs between code points (Python's sort) and a linguistic collation."""

LATEST = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 1 Dec 00:00 in Vietnam


def _moments(rng: random.Random) -> list[datetime]:
    """Start times with ties, local month edges (+07:00) and the edge of the 365 days before LATEST."""
    edges = [
        LATEST,
        LATEST - timedelta(days=365),  # not after the year's start: not counted
        LATEST - timedelta(days=365) + timedelta(seconds=1),
        datetime(2026, 1, 31, 16, 59, tzinfo=UTC),  # 31 Jan 23:59 local
        datetime(2026, 1, 31, 17, 0, tzinfo=UTC),  # 1 Feb 00:00 local
        datetime(2025, 6, 30, 17, 30, tzinfo=UTC),
    ]
    return edges + [LATEST - timedelta(days=rng.randrange(0, 500), hours=rng.randrange(24)) for _ in range(10)]


async def test_attendance_news_matches_the_domain_figures_and_announces_only_moved_ones(
    meetings_pool: asyncpg.Pool,
) -> None:
    rng = random.Random(12)
    async with meetings_pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await _check_against_domain(conn, rng)
        finally:
            await transaction.rollback()  # leave the shared schema as it was


async def _check_against_domain(conn: asyncpg.Connection, rng: random.Random) -> None:
    moments = _moments(rng)
    meetings: dict[str, tuple[datetime, bool, bool]] = {}  # start, cancelled, has minutes
    for index in range(120):
        meeting_id = f"news-{rng.choice(MEETING_IDS)}-{index % 7}-{index}" if index % 3 else f"news-{index}"
        meetings[meeting_id] = (rng.choice(moments), rng.random() < 0.1, rng.random() < 0.8)
    for meeting_id in ("news-edge-latest", "news-tie-B", "news-tie-a"):  # 'B' < 'a' by code point, not in en_US
        meetings[meeting_id] = (LATEST, False, True)
    meetings["news-edge-year"] = (LATEST - timedelta(days=365), False, True)
    meetings["news-unheld-latest"] = (LATEST + timedelta(days=1), False, False)  # a roster without minutes
    await conn.executemany(
        "INSERT INTO meeting (meeting_id, cell_id, kind, agenda, notified_at, schedule_time, schedule_id,"
        " starts_at, start_time, start_id, location, location_time, location_id, cancel_time)"
        " VALUES ($1, 'news-cell', 'regular', '[]', $2, $2, 'v', $2, $2, 'v', 'x', $2, 'v', $3)",
        [
            (meeting_id, starts_at, LATEST if cancelled else None)
            for meeting_id, (starts_at, cancelled, _) in meetings.items()
        ],
    )
    await conn.executemany(
        "INSERT INTO minutes (meeting_id, started_at, ended_at, chair_id, recorder_id, speakers, resolutions,"
        " version_time, version_id)"
        " VALUES ($1, $2::timestamptz, $2::timestamptz + interval '90 minutes', 'c', 'r', '[]', '[]', $2, 'v')",
        [(meeting_id, starts_at) for meeting_id, (starts_at, _, minuted) in meetings.items() if minuted],
    )
    members = [f"news-member-{index}" for index in range(60)]
    current = members[:55]  # the last five are no current members: never announced
    await conn.executemany(
        "INSERT INTO member (id, cell_id, full_name, status, role, probation_ends_on, version_time, version_id)"
        " VALUES ($1, 'news-cell', $2, 'official', 'member', $3, $4, 'v')",
        [(m, f"Nguyễn Văn {i}", LATEST.date() if i % 2 else None, LATEST) for i, m in enumerate(current)],
    )
    rosters: dict[str, list[tuple[str, str]]] = {m: [] for m in members}
    for index, member_id in enumerate(members):
        chosen = rng.sample(sorted(meetings), k=0 if index % 11 == 0 else rng.randrange(1, 25))
        for meeting_id in chosen:
            status = rng.choice(STATUSES[:3] if rng.random() < 0.8 else STATUSES)
            rosters[member_id].append((meeting_id, status))
    rosters[members[1]] = [("news-edge-latest", "present"), ("news-edge-year", "absent")]
    rosters[members[2]] = [("news-tie-B", "absent"), ("news-tie-a", "present")]
    rosters[members[3]] = [("news-edge-latest", "absent"), ("news-edge-year", "absent"), ("news-tie-B", "excused")]
    # excused at a held meeting, then at a later one without minutes: the latter neither extends nor ends the run
    rosters[members[4]] = [("news-edge-latest", "excused"), ("news-unheld-latest", "excused")]
    await conn.executemany(
        "INSERT INTO attendance (meeting_id, member_id, status) VALUES ($1, $2, $3)",
        [(meeting_id, m, status) for m, entries in rosters.items() for meeting_id, status in entries],
    )
    expected = {}
    for member_id in current:
        history = domain.attendance_history(
            domain.AttendanceEntry(
                meeting_id=meeting_id, starts_at=meetings[meeting_id][0], status=status, held=meetings[meeting_id][2]
            )
            for meeting_id, status in rosters[member_id]
            if not meetings[meeting_id][1]
        )
        expected[member_id] = (
            history.consecutive_absences,
            history.consecutive_excused_absences,
            history.unexcused_months_last_year,
        )
    assert [expected[m] for m in members[1:5]] == [(0, 0, 0), (0, 0, 1), (3, 1, 1), (1, 1, 0)]  # edge, ties, held
    assert any(figures[2] > 1 for figures in expected.values())  # the data exercises every figure
    assert any(figures[1] > 0 for figures in expected.values())
    # announced before: the same figures for some (no news), other figures for others
    unchanged, changed = current[:10], current[10:20]
    await conn.executemany(
        "INSERT INTO attendance_figures (member_id, consecutive_absences, consecutive_excused_absences,"
        " unexcused_months_last_year) VALUES ($1, $2, $3, $4)",
        [(m, *expected[m]) for m in unchanged] + [(m, expected[m][0] + 1, 0, 0) for m in changed],
    )

    news = await PgMeetingRepository(conn).attendance_news(members + members[:3])

    # never announced and never absent: nothing moved from zeros (the fan-out of a month start, issue 12)
    zeros = {m for m in current if m not in unchanged + changed and expected[m] == (0, 0, 0)}
    assert len(zeros) >= 3  # the data has such members
    assert set(news) == set(current) - set(unchanged) - zeros
    for member_id, row in news.items():
        figures = (
            row["consecutive_absences"],
            row["consecutive_excused_absences"],
            row["unexcused_months_last_year"],
        )
        assert figures == expected[member_id], member_id
        index = members.index(member_id)
        assert (row["full_name"], row["cell_id"]) == (f"Nguyễn Văn {index}", "news-cell")
        assert row["probation_ends_on"] == (LATEST.date() if index % 2 else None)
    stored = await conn.fetch(
        "SELECT member_id, consecutive_absences, consecutive_excused_absences, unexcused_months_last_year"
        " FROM attendance_figures WHERE member_id = ANY($1::text[])",
        members,
    )
    assert {row["member_id"]: tuple(row)[1:] for row in stored} == {m: expected[m] for m in current if m not in zeros}
    assert await PgMeetingRepository(conn).attendance_news(members) == {}  # announced: no news again
    # each announcement numbered after the member's last: the first is 1 (also after announcements made before the
    # numbering, kept at 0), and the next news of the member 2, whatever it moved
    assert {row["sequence"] for row in news.values()} == {1}
    moving = sorted(news)[:2]
    await conn.execute(
        "UPDATE attendance_figures SET consecutive_absences = consecutive_absences + 7 WHERE member_id = ANY($1)",
        moving,
    )
    again = await PgMeetingRepository(conn).attendance_news(members)
    assert {member_id: row["sequence"] for member_id, row in again.items()} == dict.fromkeys(moving, 2)
    numbers = await conn.fetch(
        "SELECT member_id, announced_sequence FROM attendance_figures WHERE member_id = ANY($1::text[])", members
    )
    assert {row["member_id"]: row["announced_sequence"] for row in numbers} == {
        m: 2 if m in moving else 0 if m in unchanged else 1 for m in current if m not in zeros
    }  # the unchanged ones still at their number from before the numbering


async def test_an_absence_at_half_past_midnight_on_the_first_counts_in_vietnams_month(
    meetings_pool: asyncpg.Pool,
) -> None:
    """Two unexcused absences, at 2026-11-30T17:30Z (00:30 on 1 December in Vietnam) and on 10 December: one month of
    unexcused absence (December), as evaluation names the month of a meeting's start (shared.periods.vietnam_month)."""
    starts = {"news-midnight-1": datetime(2026, 11, 30, 17, 30, tzinfo=UTC), "news-midnight-2": LATEST + timedelta(9)}
    async with meetings_pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.executemany(
                "INSERT INTO meeting (meeting_id, cell_id, kind, agenda, notified_at, schedule_time, schedule_id,"
                " starts_at, start_time, start_id, location, location_time, location_id)"
                " VALUES ($1, 'news-cell', 'regular', '[]', $2, $2, 'v', $2, $2, 'v', 'x', $2, 'v')",
                list(starts.items()),
            )
            await conn.executemany(
                "INSERT INTO minutes (meeting_id, started_at, ended_at, chair_id, recorder_id, speakers, resolutions,"
                " version_time, version_id) VALUES ($1, $2::timestamptz, $2::timestamptz + interval '90 minutes',"
                " 'c', 'r', '[]', '[]', $2, 'v')",
                list(starts.items()),
            )
            await conn.execute(
                "INSERT INTO member (id, cell_id, full_name, status, role, version_time, version_id)"
                " VALUES ('news-midnight-member', 'news-cell', 'Trần Văn Tư', 'official', 'member', $1, 'v')",
                LATEST,
            )
            await conn.executemany(
                "INSERT INTO attendance (meeting_id, member_id, status) VALUES ($1, 'news-midnight-member', 'absent')",
                [(meeting_id,) for meeting_id in starts],
            )
            news = await PgMeetingRepository(conn).attendance_news(["news-midnight-member"])
        finally:
            await transaction.rollback()  # leave the shared schema as it was
    row = news["news-midnight-member"]
    assert (row["consecutive_absences"], row["unexcused_months_last_year"]) == (2, 1)
