"""Stored meeting scores and cell period results."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import asyncpg
from pydantic_core import from_json, to_json

from services.evaluation.domain.periods import CellSpan, LateChange, MeetingSummary, PeriodResult
from services.evaluation.domain.scoring import MeetingScore
from services.evaluation.repository.facts import FactStamp
from shared.periods import vietnam_month


@dataclass(frozen=True)
class ScoreRow:
    """A meeting's score with the columns its periods read (counts are 0 for a meeting not held)."""

    result: MeetingScore
    kind: str
    starts_at: datetime
    held: bool
    present: int
    counted: int
    speakers_present: int


@dataclass(frozen=True)
class CellExistence:
    """The facts that say when a cell existed (domain.periods.cell_span), and the span its stored periods were
    computed over (`stored`: None when none is stored yet)."""

    first_snapshot: datetime | None
    ended_at: datetime | None
    first_held: datetime | None
    last_held: datetime | None
    stored: CellSpan | None
    first_cancelled: datetime | None = None
    last_cancelled: datetime | None = None
    """The first and last start of a cancelled meeting with minutes (a held meeting's withdrawal keeps its month)."""


CELLS_EXISTENCE = """
SELECT k.cell_id,
       (SELECT min(s.fact_time) FROM unit_snapshot s WHERE s.unit_id = k.cell_id) AS first_snapshot,
       CASE WHEN NOT u.active THEN coalesce(
           (SELECT min(s.fact_time) FROM unit_snapshot s WHERE s.unit_id = k.cell_id AND NOT s.active
              AND s.fact_time > coalesce((SELECT max(a.fact_time) FROM unit_snapshot a
                                          WHERE a.unit_id = k.cell_id AND a.active), '-infinity')),
           u.fact_time) END AS ended_at,
       (SELECT min(m.starts_at) FROM meeting_score m WHERE m.cell_id = k.cell_id AND m.held) AS first_held,
       (SELECT max(m.starts_at) FROM meeting_score m WHERE m.cell_id = k.cell_id AND m.held) AS last_held,
       x.first_cancelled, x.last_cancelled,
       c.first_month, c.last_month
FROM (SELECT DISTINCT unnest($1::text[]) AS cell_id) k
LEFT JOIN unit u ON u.id = k.cell_id
LEFT JOIN cell_span c ON c.cell_id = k.cell_id
LEFT JOIN LATERAL (
    SELECT min(s.starts_at) AS first_cancelled, max(s.starts_at) AS last_cancelled
    FROM (SELECT CASE WHEN r.meeting_id IS NOT NULL
                       AND (r.fact_time, r.fact_ns, r.fact_id) > (m.fact_time, m.fact_ns, m.fact_id)
                      THEN r.starts_at ELSE m.starts_at END AS starts_at
          FROM (SELECT * FROM meeting WHERE cell_id = k.cell_id AND cancelled OFFSET 0) m
          CROSS JOIN LATERAL (SELECT 1 FROM minutes WHERE meeting_id = m.meeting_id OFFSET 0) d
          LEFT JOIN LATERAL (SELECT * FROM meeting_reschedule WHERE meeting_id = m.meeting_id OFFSET 0) r ON true) s
) x ON true
"""
"""Per cell: its first unit snapshot's time; when it ended (its latest snapshot inactive: the first inactive snapshot
after its last active one); its first and last held meetings' starts; those of its cancelled meetings with minutes
(their effective start, as MEETINGS_OF_CELLS reads it; found by the partial index on `meeting.cancelled`, migration
0016, and each table by its key, kept subqueries by OFFSET 0 as facts.per_key explains); the stored span."""


STORED_SCORE_COLUMNS = (
    "cell_id",
    "kind",
    "starts_at",
    "held",
    "framework_id",
    "framework_version",
    "score",
    "rating",
    "provisional",
    "criteria",
    "present",
    "counted",
    "speakers_present",
)
"""The columns of a stored score row as `stored_scores` gives them (with `meeting_id` first)."""

SCORING_INPUTS = (
    "SELECT k.key AS meeting_id, s.meeting_id IS NOT NULL AS scored, "
    + ", ".join(f"s.{column}" for column in STORED_SCORE_COLUMNS if column != "criteria")
    + ", s.criteria::text AS criteria, d.kinds, d.published, a.roles, a.times, a.ns, a.ids, a.points"
    " FROM (SELECT DISTINCT unnest($1::text[]) AS key) k"
    " LEFT JOIN LATERAL (SELECT * FROM meeting_score WHERE meeting_id = k.key OFFSET 0) s ON true"
    " CROSS JOIN LATERAL (SELECT array_agg(kind ORDER BY published_at, fact_id, position) AS kinds,"
    "  array_agg(published_at ORDER BY published_at, fact_id, position) AS published"
    "  FROM document WHERE meeting_id = k.key) d"
    " CROSS JOIN LATERAL (SELECT array_agg(role ORDER BY fact_time, fact_ns, fact_id) AS roles,"
    "  array_agg(fact_time ORDER BY fact_time, fact_ns, fact_id) AS times,"
    "  array_agg(fact_ns ORDER BY fact_time, fact_ns, fact_id) AS ns,"
    "  array_agg(fact_id ORDER BY fact_time, fact_ns, fact_id) AS ids,"
    "  array_agg(points::text ORDER BY fact_time, fact_ns, fact_id) AS points"
    "  FROM assessment WHERE meeting_id = k.key) a"
)
"""Per meeting of $1: its stored score (`scored` false when none), its documents (kinds and times, as
`PgFactRepository.documents` orders them) and its assessments (as `PgFactRepository.assessments` orders them), each
table read by the meeting's key."""


@dataclass(frozen=True)
class ScoringInputs:
    """What scoring reads of its target meetings: stored score rows, documents and assessments, by meeting id."""

    stored: dict[str, dict[str, Any]]
    documents: dict[str, list[tuple[str, datetime]]]
    assessments: dict[str, list[tuple[str, FactStamp, dict]]]


@dataclass(frozen=True)
class Recheck:
    """A meeting to score again once `due_at` has come (its start; the end of a window its score awaits)."""

    meeting_id: str
    cell_id: str
    due_at: datetime


@dataclass(frozen=True)
class UnitMove:
    """A unit moved to another parent by its winning snapshot, received in `through` (the service's month): its cells
    (`cell_ids`), the old and new parent (None: a root), the committees that lost them (`left_ids`) and gained them
    (`joined_ids`), and when it was noted (docs/architecture.md "A cell moved to another committee"); `unit_id` the
    unit that moved (one of the cells, or a committee above them)."""

    cell_ids: Sequence[str]
    from_parent_id: str | None
    to_parent_id: str | None
    left_ids: Sequence[str]
    joined_ids: Sequence[str]
    through: str
    at: datetime
    unit_id: str | None = None


class ResultRepository(Protocol):
    """Meeting scores and period results as stored."""

    async def scoring_inputs(self, meeting_ids: list[str]) -> ScoringInputs: ...
    async def save_scores(self, rows: Sequence[ScoreRow]) -> None: ...
    async def delete_scores(self, meeting_ids: Sequence[str]) -> None: ...
    async def schedule_rechecks(self, rechecks: Sequence[Recheck]) -> None: ...
    async def cells_summaries(
        self, cell_ids: Sequence[str], *, year_from: int, year_to: int
    ) -> dict[str, list[MeetingSummary]]: ...
    async def stored_periods(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]: ...
    async def save_periods(
        self,
        results: list[PeriodResult],
        *,
        month: str | None,
        today: date | None = None,
        rated_at: datetime | None = None,
    ) -> None: ...
    async def cells_existence(self, cell_ids: Sequence[str]) -> dict[str, CellExistence]: ...
    async def save_spans(self, spans: Mapping[str, CellSpan]) -> None: ...
    async def delete_periods_outside(self, spans: Mapping[str, CellSpan]) -> list[dict[str, Any]]: ...
    async def delete_periods(self, keys: Sequence[tuple[str, str]]) -> None: ...
    async def save_late_changes(self, changes: Sequence[LateChange]) -> None: ...
    async def withdrawn_meetings(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]: ...
    async def withdrawals_noted(self, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str, str]]: ...
    async def shown_months(self, keys: Sequence[tuple[str, str, str]]) -> set[tuple[str, str]]: ...
    async def note_moves(self, move: UnitMove) -> int: ...


WITHDRAWN_MEETINGS = f"""
SELECT DISTINCT ON (k.cell_id, k.period) k.cell_id, k.period, m.meeting_id
FROM unnest($1::text[], $2::text[]) AS k(cell_id, period)
JOIN meeting m ON m.cell_id = k.cell_id
LEFT JOIN meeting_reschedule r ON r.meeting_id = m.meeting_id
    AND (r.fact_time, r.fact_ns, r.fact_id) > (m.fact_time, m.fact_ns, m.fact_id)
CROSS JOIN LATERAL (SELECT coalesce(r.starts_at, m.starts_at) AS starts_at) s
WHERE {vietnam_month("s.starts_at")} = k.period
  AND NOT EXISTS (SELECT 1 FROM meeting_score x WHERE x.meeting_id = m.meeting_id)
ORDER BY k.cell_id, k.period, m.cancelled AND EXISTS (SELECT 1 FROM minutes n WHERE n.meeting_id = m.meeting_id) DESC,
    s.starts_at DESC, m.meeting_id
"""
"""The meeting of each (cell, month) whose score was withdrawn (ResultRepository.withdrawn_meetings)."""


class PgResultRepository:
    """ResultRepository on the evaluation schema."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._conn = connection

    async def scoring_inputs(self, meeting_ids: list[str]) -> ScoringInputs:
        """The meetings' stored score rows (criteria decoded; each line with its reason `parts` once stored so), their
        published documents (kind, first published) and assessments (role, stamp, points; oldest first), in one
        statement (a scoring round reads all three)."""
        stored: dict[str, dict[str, Any]] = {}
        documents: dict[str, list[tuple[str, datetime]]] = {}
        assessments: dict[str, list[tuple[str, FactStamp, dict]]] = {}
        for row in await self._conn.fetch(SCORING_INPUTS, meeting_ids):
            meeting_id = row["meeting_id"]
            if row["scored"]:
                stored[meeting_id] = {
                    "meeting_id": meeting_id,
                    **{column: row[column] for column in STORED_SCORE_COLUMNS},
                    "criteria": from_json(row["criteria"]),
                }
            if row["kinds"] is not None:
                documents[meeting_id] = list(zip(row["kinds"], row["published"], strict=True))
            if row["roles"] is not None:
                assessments[meeting_id] = [
                    (role, FactStamp(time=time, event_id=event_id, ns=ns), from_json(points))
                    for role, time, ns, event_id, points in zip(
                        row["roles"], row["times"], row["ns"], row["ids"], row["points"], strict=True
                    )
                ]
        return ScoringInputs(stored=stored, documents=documents, assessments=assessments)

    async def save_scores(self, rows: Sequence[ScoreRow]) -> None:
        """Insert or replace meetings' score rows in one statement (the last row of a meeting wins)."""
        latest = {row.result.meeting_id: row for row in rows}
        if not latest:
            return
        columns: list[list[Any]] = [[] for _ in range(14)]
        for row in latest.values():
            result = row.result
            values = (
                result.meeting_id,
                result.cell_id,
                row.kind,
                row.starts_at,
                row.held,
                result.framework_id,
                result.framework_version,
                result.score,
                result.rating,
                result.provisional,
                to_json([line.stored_dict() for line in result.criteria]).decode(),
                row.present,
                row.counted,
                row.speakers_present,
            )
            for column, value in zip(columns, values, strict=True):
                column.append(value)
        await self._conn.execute(
            "INSERT INTO meeting_score (meeting_id, cell_id, kind, starts_at, held, framework_id, framework_version,"
            " score, rating, provisional, criteria, present, counted, speakers_present, computed_at)"
            " SELECT m, c, k, s, h, f, v, sc, r, p, cr::jsonb, pr, co, sp, now()"
            " FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::boolean[], $6::text[],"
            "  $7::text[], $8::float8[], $9::text[], $10::boolean[], $11::text[], $12::int[], $13::int[], $14::int[])"
            "  AS t(m, c, k, s, h, f, v, sc, r, p, cr, pr, co, sp)"
            " ON CONFLICT (meeting_id) DO UPDATE SET cell_id = EXCLUDED.cell_id, kind = EXCLUDED.kind,"
            " starts_at = EXCLUDED.starts_at, held = EXCLUDED.held, framework_id = EXCLUDED.framework_id,"
            " framework_version = EXCLUDED.framework_version, score = EXCLUDED.score, rating = EXCLUDED.rating,"
            " provisional = EXCLUDED.provisional, criteria = EXCLUDED.criteria, present = EXCLUDED.present,"
            " counted = EXCLUDED.counted, speakers_present = EXCLUDED.speakers_present, computed_at = now()",
            *columns,
        )

    async def delete_scores(self, meeting_ids: Sequence[str]) -> None:
        """Drop meetings' score rows (a cancelled meeting is not scored)."""
        if meeting_ids:
            await self._conn.execute("DELETE FROM meeting_score WHERE meeting_id = ANY($1::text[])", list(meeting_ids))

    async def schedule_rechecks(self, rechecks: Sequence[Recheck]) -> None:
        """Note meetings to score again at a moment (`score_recheck`, once per meeting and moment, one statement);
        the recheck job turns the due ones into dirty-cell notes (`PgJobRepository.release_due_rechecks`)."""
        if not rechecks:
            return
        await self._conn.execute(
            "INSERT INTO score_recheck (meeting_id, cell_id, due_at)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) ON CONFLICT DO NOTHING",
            [recheck.meeting_id for recheck in rechecks],
            [recheck.cell_id for recheck in rechecks],
            [recheck.due_at for recheck in rechecks],
        )

    async def cells_summaries(
        self, cell_ids: Sequence[str], *, year_from: int, year_to: int
    ) -> dict[str, list[MeetingSummary]]:
        """Per cell (every one a key), its scored meetings starting in the given years (local time), for its periods."""
        rows = await self._conn.fetch(
            "SELECT cell_id, meeting_id, kind, starts_at, held, score, rating, provisional, present, counted,"
            " speakers_present FROM meeting_score WHERE cell_id = ANY($1::text[])"
            " AND starts_at >= make_timestamptz($2, 1, 1, 0, 0, 0, '+07')"
            " AND starts_at < make_timestamptz($3 + 1, 1, 1, 0, 0, 0, '+07')",
            list(cell_ids),
            year_from,
            year_to,
        )
        found: dict[str, list[MeetingSummary]] = {cell_id: [] for cell_id in cell_ids}
        for row in rows:
            values = dict(row)
            found[values.pop("cell_id")].append(MeetingSummary(**values))
        return found

    async def stored_periods(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """Stored period rows by (cell, period), of the given pairs."""
        if not keys:
            return {}
        rows = await self._conn.fetch(
            "SELECT p.* FROM cell_period p JOIN unnest($1::text[], $2::text[]) AS k(cell_id, period)"
            " USING (cell_id, period)",
            [cell_id for cell_id, _ in keys],
            [period for _, period in keys],
        )
        return {(row["cell_id"], row["period"]): _period_row(row) for row in rows}

    async def save_periods(
        self,
        results: list[PeriodResult],
        *,
        month: str | None,
        today: date | None = None,
        rated_at: datetime | None = None,
    ) -> None:
        """Insert or replace period rows in one statement (the last result of a (cell, period) wins); a new row notes
        `month` (the running one; None: the month close, rating each month on time, its own) as the month it was
        first rated in (`rated_from`, kept when it is replaced: domain.periods.late_change) and `today` (the service's
        day) as the day (`rated_on`, migration 0045) and `rated_at` (the scoring moment) as the moment (migration
        0046), unless the period was rated before (`period_rated_from`, migration 0020: a row deleted and written
        again keeps its first month, day and moment)."""
        latest = {(result.cell_id, result.period): result for result in results}
        if not latest:
            return
        columns: list[list[Any]] = [[] for _ in range(14)]
        for result in latest.values():
            values = (
                result.cell_id,
                result.period,
                result.rating,
                result.score,
                result.regular_held,
                result.thematic_held,
                result.present,
                result.counted,
                result.speakers_present,
                result.months_counted,
                result.months_with_regular,
                to_json(list(result.flags)).decode(),
                result.meetings_held,
                None if result.rating_reason is None else to_json(result.rating_reason.data()).decode(),
            )
            for column, value in zip(columns, values, strict=True):
                column.append(value)
        await self._conn.execute(
            # the first month kept apart (inserted by the CTE, which the outer statement does not see: a period
            # rated for the first time reads no row there and takes the month given, as the CTE stores)
            "WITH t AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::int[], $6::int[],"
            "  $7::int[], $8::int[], $9::int[], $10::int[], $11::int[], $12::text[], $13::int[], $14::text[])"
            "  AS t(c, p, r, s, rh, th, pr, co, sp, mc, mr, f, mh, rr)),"
            " kept AS (INSERT INTO period_rated_from (cell_id, period, rated_from, rated_on, rated_at)"
            "  SELECT c, p, coalesce($15::text, p), $16::date, $17::timestamptz FROM t ON CONFLICT DO NOTHING)"
            " INSERT INTO cell_period (cell_id, period, rating, score, regular_held, thematic_held, present, counted,"
            " speakers_present, months_counted, months_with_regular, flags, meetings_held, rating_reason, computed_at,"
            " rated_from, rated_on, rated_at, held_since)"
            " SELECT c, p, r, s, rh, th, pr, co, sp, mc, mr,"
            "  ARRAY(SELECT jsonb_array_elements_text(f::jsonb)), mh, rr::jsonb, now(),"
            "  CASE WHEN k.cell_id IS NULL THEN coalesce($15::text, p) ELSE k.rated_from END,"
            "  CASE WHEN k.cell_id IS NULL THEN $16::date ELSE k.rated_on END,"
            "  CASE WHEN k.cell_id IS NULL THEN $17::timestamptz ELSE k.rated_at END,"
            "  CASE WHEN rh > 0 OR coalesce(mh, 0) > 0 THEN now() END"
            " FROM t LEFT JOIN period_rated_from k ON k.cell_id = t.c AND k.period = t.p"
            " ON CONFLICT (cell_id, period) DO UPDATE SET rating = EXCLUDED.rating, score = EXCLUDED.score,"
            " regular_held = EXCLUDED.regular_held, thematic_held = EXCLUDED.thematic_held,"
            " present = EXCLUDED.present, counted = EXCLUDED.counted, speakers_present = EXCLUDED.speakers_present,"
            " months_counted = EXCLUDED.months_counted, months_with_regular = EXCLUDED.months_with_regular,"
            " flags = EXCLUDED.flags, meetings_held = EXCLUDED.meetings_held, rating_reason = EXCLUDED.rating_reason,"
            " computed_at = now(), held_since = CASE WHEN EXCLUDED.held_since IS NULL THEN NULL"
            "  ELSE coalesce(cell_period.held_since, EXCLUDED.held_since) END",
            *columns,
            month,
            today,
            rated_at,
        )

    async def cells_existence(self, cell_ids: Sequence[str]) -> dict[str, CellExistence]:
        """Per cell (every one a key), what says when it existed and its stored span, in one statement."""
        rows = await self._conn.fetch(CELLS_EXISTENCE, list(cell_ids))
        return {
            row["cell_id"]: CellExistence(
                first_snapshot=row["first_snapshot"],
                ended_at=row["ended_at"],
                first_held=row["first_held"],
                last_held=row["last_held"],
                stored=None if row["first_month"] is None else CellSpan(row["first_month"], row["last_month"]),
                first_cancelled=row["first_cancelled"],
                last_cancelled=row["last_cancelled"],
            )
            for row in rows
        }

    async def save_spans(self, spans: Mapping[str, CellSpan]) -> None:
        """Insert or replace cells' spans in one statement (a changed one is noted for the roll-ups: migration 0006)."""
        if not spans:
            return
        await self._conn.execute(
            "INSERT INTO cell_span (cell_id, first_month, last_month)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::text[])"
            " ON CONFLICT (cell_id) DO UPDATE SET first_month = EXCLUDED.first_month, last_month = EXCLUDED.last_month"
            " WHERE (cell_span.first_month, cell_span.last_month)"
            "  IS DISTINCT FROM (EXCLUDED.first_month, EXCLUDED.last_month)",
            list(spans),
            [span.first_month for span in spans.values()],
            [span.last_month for span in spans.values()],
        )

    async def delete_periods(self, keys: Sequence[tuple[str, str]]) -> None:
        """Drop the stored rows of the given (cell, period) pairs (periods no longer rated: not rated yet)."""
        if not keys:
            return
        await self._conn.execute(
            "DELETE FROM cell_period p USING unnest($1::text[], $2::text[]) AS k(cell_id, period)"
            " WHERE p.cell_id = k.cell_id AND p.period = k.period",
            [cell_id for cell_id, _ in keys],
            [period for _, period in keys],
        )

    async def delete_periods_outside(self, spans: Mapping[str, CellSpan]) -> list[dict[str, Any]]:
        """Drop the stored periods of each cell that lie wholly outside its span; return the dropped rows (`cell_id`,
        `period`, `rating`, `score`, `regular_held`, `meetings_held`, `rated_from`)."""
        if not spans:
            return []
        rows = await self._conn.fetch(
            "DELETE FROM cell_period p USING unnest($1::text[], $2::text[], $3::text[]) AS t(c, f, l)"
            " WHERE p.cell_id = t.c AND NOT cell_in_period(t.f, t.l, p.period)"
            " RETURNING p.cell_id, p.period, p.rating, p.score, p.regular_held, p.meetings_held, p.rated_from",
            list(spans),
            [span.first_month for span in spans.values()],
            [span.last_month for span in spans.values()],
        )
        return [dict(row) for row in rows]

    async def save_late_changes(self, changes: Sequence[LateChange]) -> None:
        """Note closed months whose result a late fact changed (domain.periods.late_change), in one statement."""
        if not changes:
            return
        await self._conn.execute(
            "INSERT INTO period_late_change (cell_id, period, meeting_id, old_rating, old_score, new_rating,"
            " new_score, changed_at, kind, framework_id, framework_version)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::text[],"
            "  $7::float8[], $8::timestamptz[], $9::text[], $10::text[], $11::text[])",
            [c.cell_id for c in changes],
            [c.period for c in changes],
            [c.meeting_id for c in changes],
            [c.old_rating for c in changes],
            [c.old_score for c in changes],
            [c.new_rating for c in changes],
            [c.new_score for c in changes],
            [c.changed_at for c in changes],
            [c.kind for c in changes],
            [c.framework_id for c in changes],
            [c.framework_version for c in changes],
        )

    async def withdrawn_meetings(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Of (cell, month) keys, the meeting of that cell starting in that month (Vietnam time, its latest
        reschedule's start) that has no score any more, by key, in one statement: a cancelled one with minutes (held,
        then withdrawn) first, then the latest; none for a month without such a meeting."""
        if not keys:
            return {}
        rows = await self._conn.fetch(WITHDRAWN_MEETINGS, [k[0] for k in keys], [k[1] for k in keys])
        return {(row["cell_id"], row["period"]): row["meeting_id"] for row in rows}

    async def withdrawals_noted(self, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str, str]]:
        """Of (cell, month) keys, the (cell, month, meeting) already noted as that meeting's withdrawal (kind
        "withdrawn"), in one statement."""
        if not keys:
            return set()
        rows = await self._conn.fetch(
            "SELECT DISTINCT l.cell_id, l.period, l.meeting_id FROM period_late_change l"
            " JOIN unnest($1::text[], $2::text[]) AS k(cell_id, period) USING (cell_id, period)"
            " WHERE l.kind = 'withdrawn' AND l.meeting_id IS NOT NULL",
            [key[0] for key in keys],
            [key[1] for key in keys],
        )
        return {(row["cell_id"], row["period"], row["meeting_id"]) for row in rows}

    async def note_moves(self, move: UnitMove) -> int:
        """Note the shown closed months of a moved unit's cells (module note_moves); how many."""
        return await note_moves(self._conn, move)

    async def shown_months(self, keys: Sequence[tuple[str, str, str]]) -> set[tuple[str, str]]:
        """Of (cell, parent, month) keys, the (cell, month) whose parent's subtree holds another cell with that month
        stored with a held meeting before the cell's first snapshot was received (its committee showed the month
        before the cell counted in it; migration 0030), in one statement: since the row first held one (`held_since`,
        migration 0032), not since it was last recomputed, which a later fact about that cell moves."""
        if not keys:
            return set()
        rows = await self._conn.fetch(
            "WITH RECURSIVE k AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) AS k(cell_id, parent_id,"
            "  period)),"
            " down(root, id) AS (SELECT p.parent_id, u.id FROM (SELECT DISTINCT parent_id FROM k) p"
            "  JOIN unit u ON u.parent_id = p.parent_id"
            "  UNION SELECT d.root, u.id FROM down d JOIN unit u ON u.parent_id = d.id)"
            " SELECT DISTINCT k.cell_id, k.period FROM k"
            " JOIN down d ON d.root = k.parent_id AND d.id <> k.cell_id"
            " JOIN cell_period c ON c.cell_id = d.id AND c.period = k.period"
            " WHERE (c.regular_held > 0 OR coalesce(c.meetings_held, 0) > 0)"
            "  AND c.held_since < (SELECT min(s.received_at) FROM unit_snapshot s WHERE s.unit_id = k.cell_id)",
            [key[0] for key in keys],
            [key[1] for key in keys],
            [key[2] for key in keys],
        )
        return {(row["cell_id"], row["period"]) for row in rows}


def _period_row(row: asyncpg.Record) -> dict[str, Any]:
    """A stored period row as a dict, its `rating_reason` (jsonb, read as text) decoded."""
    values = dict(row)
    if isinstance(values.get("rating_reason"), str):
        values["rating_reason"] = from_json(values["rating_reason"])
    return values


NOTE_MOVES = """
INSERT INTO unit_move_change (cell_id, period, from_parent_id, to_parent_id, left_ids, joined_ids, rating, score,
                              changed_at, unit_id)
SELECT p.cell_id, p.period, $2, $3, $4::text[], $5::text[], p.rating, p.score, $7, $8
FROM cell_period p
WHERE p.cell_id = ANY($1::text[]) AND length(p.period) = 7 AND p.period < $6
  AND (p.rated_from IS NULL OR p.rated_from <= p.period OR p.regular_held > 0 OR coalesce(p.meetings_held, 0) > 0)
"""
"""The closed months of the moved cells that their committees had shown (rated while they ran, or with a held meeting:
unit_closed_change's rule), each noted with the move and the unit that moved (migrations 0034, 0043)."""


async def note_moves(conn: asyncpg.Connection, move: UnitMove) -> int:
    """Note each shown closed month of the moved cells (NOTE_MOVES) in one statement; how many were noted."""
    if not move.cell_ids or not (move.left_ids or move.joined_ids):
        return 0
    status = await conn.execute(
        NOTE_MOVES,
        list(move.cell_ids),
        move.from_parent_id,
        move.to_parent_id,
        list(move.left_ids),
        list(move.joined_ids),
        move.through,
        move.at,
        move.unit_id,
    )
    return int(status.split()[-1])
