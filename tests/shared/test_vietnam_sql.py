"""The Vietnam-day and Vietnam-month SQL expressions have one writer each (shared.periods.vietnam_day,
vietnam_month), and the queries built from them send the SQL they sent when each wrote its own expression: byte for
byte the same lines, so no plan or result changes with the refactor."""

from services.evaluation import queries
from services.evaluation.repository import results
from shared.periods import vietnam_day, vietnam_month


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
    for sql in (queries.LATE_CHANGES, results.WITHDRAWN_MEETINGS):
        assert sql.count("'YYYY-MM'") == 1 and "{" not in sql
