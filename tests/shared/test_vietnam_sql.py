"""The Vietnam-day and Vietnam-month SQL expressions have one writer each (shared.periods.vietnam_day,
vietnam_month), and the queries built from them send the SQL they sent when each wrote its own expression: byte for
byte the same lines, so no plan or result changes with the refactor. Meetings' month of an unexcused absence
(_ATTENDANCE_NEWS_SQL) wrote its own with a fixed offset (`AT TIME ZONE INTERVAL '+07:00'`, the same months since
1975) and now names the month with the helper too (h407); no other source writes a time zone in SQL."""

from pathlib import Path

from services.evaluation import queries
from services.evaluation.repository import results
from services.meetings.repository import meetings
from shared.periods import vietnam_day, vietnam_month

ROOT = Path(__file__).resolve().parents[2]


def test_the_helpers_write_the_expressions_the_queries_wrote_by_hand() -> None:
    assert vietnam_day("changed_at") == "(changed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date"
    assert vietnam_month("s.starts_at") == "to_char(s.starts_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM')"


def test_the_month_queries_send_the_lines_they_sent_before() -> None:
    assert (
        "\n    WHERE s.cell_id = l.cell_id AND s.held AND s.kind = ANY($3::text[])\n"
        "      AND to_char(s.starts_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM') = l.period\n"
        '    ORDER BY s.starts_at DESC, s.meeting_id COLLATE "C" DESC\n'
    ) in queries.LATE_CHANGES
    assert (
        "\nCROSS JOIN LATERAL (SELECT coalesce(r.starts_at, m.starts_at) AS starts_at) s\n"
        "WHERE to_char(s.starts_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM') = k.period\n"
        "  AND NOT EXISTS (SELECT 1 FROM meeting_score x WHERE x.meeting_id = m.meeting_id)\n"
    ) in results.WITHDRAWN_MEETINGS
    # no query writes the month by hand any more, and no brace of a template is left unfilled
    for sql in (queries.LATE_CHANGES, results.WITHDRAWN_MEETINGS, meetings._ATTENDANCE_NEWS_SQL):
        assert sql.count("'YYYY-MM'") == 1 and "{" not in sql


def test_meetings_counts_a_members_months_of_absence_by_the_helpers_month() -> None:
    assert (
        "  count(DISTINCT to_char(starts_at AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM'))"
        "   FILTER (WHERE status = 'absent' AND starts_at > latest - INTERVAL '8760 hours')::int AS months"
    ) in meetings._ATTENDANCE_NEWS_SQL


def test_no_source_but_the_helpers_writes_a_time_zone_in_sql() -> None:
    """Vietnam's day and month are named in SQL one way: through shared.periods' helpers."""
    writers = sorted(
        str(path.relative_to(ROOT))
        for folder in ("services", "shared")
        for path in (ROOT / folder).rglob("*.py")
        if "AT TIME ZONE" in path.read_text(encoding="utf-8").upper()
    )
    assert writers == ["shared/periods.py"]
