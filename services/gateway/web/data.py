"""What the pages read, through the API's own read functions (same scoping checks, same figures)."""

import asyncio
import json
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from services.gateway.auth import Principal, Role
from services.gateway.availability import (
    SCORES_SERVICE,
    empty_page,
    meetings_or,
    notices_or,
    scores_or,
    scores_unavailable,
)
from services.gateway.bootstrap import GatewayState
from services.gateway.handlers import authorize_unit
from services.gateway.http import reads
from services.gateway.repository import keep_told_months, told_months, told_span
from services.gateway.rollups import month_shown, rollup_shown, waiting_month  # noqa: F401  (the pages' names for them)
from services.gateway.web.explain import gate_note, item_name_for, item_names
from services.gateway.web.i18n import (
    MINUTES_STATES,
    N_,
    _,
    format_moment,
    format_number,
    format_period,
    format_rating,
    label,
    lower_first,
    n_,
    parse_moment,
    unbroken,
)
from services.gateway.web.periods import cell_years, this_month
from shared.alert_rules import period_alerts_due
from shared.collation import by_name, by_person_values
from shared.contracts.evaluation_rpc import LATE_CHANGES_PAGE, GetCellPeriods
from shared.contracts.meetings_rpc import MEMBERS_PAGE_MAX, ListMembersAfter, UnitReply
from shared.contracts.notifications_rpc import (
    GetPeriodChecks,
    GetRules,
    LateMinutesReply,
    ListLateMinutes,
    PeriodChecksReply,
    RulesReply,
)
from shared.numbers import percent, rounded_half_up
from shared.periods import VIETNAM_TZ, has_begun, is_half_year, period_months
from shared.plausible import EARLIEST_MEETING
from shared.rpc import Page, RpcError, ServiceUnavailable
from shared.text import isolated_name

RATING_ORDER = ("good", "fair", "average", "poor")
RATING_COLOURS = {"good": "#1b7f3b", "fair": "#2f6fb3", "average": "#c98a00", "poor": "#b3261e"}
NOT_MET_COLOUR = "#8a8a8a"


async def breadcrumb(state: GatewayState, principal: Principal, unit: UnitReply) -> list[dict[str, str]]:
    """The path from the viewer's own unit down to this one, with names."""
    ancestors = list(unit.ancestors or [unit.id])
    start = ancestors.index(principal.unit_id) if principal.unit_id in ancestors else len(ancestors) - 1
    crumbs = []
    for unit_id in ancestors[start:]:
        found = unit if unit_id == unit.id else await unit_or_none(state, unit_id)
        if found:
            crumbs.append({"id": unit_id, "name": found.name or unit_id, "kind": found.kind})
    return crumbs


async def unit_or_none(state: GatewayState, unit_id: str) -> UnitReply | None:
    """The unit as the directory has it (its kept copy while meetings does not answer), or None when meetings does not
    know it or, during a page render, does not answer and no copy of it is kept (availability.meetings_or): for a
    name shown, never for scoping (handlers.authorize_unit)."""
    if state.directory.meetings_silent() and (kept := state.directory.kept(unit_id)) is not None:
        return kept
    return await meetings_or(state.directory, lambda: state.directory.get(unit_id), None)


async def committee_overview(
    state: GatewayState,
    principal: Principal,
    committee_id: str,
    period: str,
    *,
    late_offset: int = 0,
    changes_offset: int = 0,
) -> dict[str, Any]:
    """Roll-up, children with their figures, weakest cells, late minutes (LATE_MINUTES_SHOWN of them from
    `late_offset`, with `late_minutes_page`: offset, shown and total, for the page's pager) and inbox of a committee
    for a period; while evaluation does not answer, `rollup` None, while notifications does not, no inbox or late
    minutes, while meetings does not, no children (`units_unavailable` true: availability.meetings_or);
    `history_cutoff_days` notifications' configured history cutoff (its GetRules), which the late list's note names. The
    roll-up's cells whose month changed late are LATE_CHANGES_SHOWN of them from
    `changes_offset`."""
    found, units, ranking, inbox, late, rules, checks = await asyncio.gather(
        scores_or(
            lambda: reads.get_committee_rollup(
                committee_id, period, principal, state, late_changes_offset=changes_offset
            ),
            None,
        ),
        meetings_or(
            state.directory,
            lambda: reads.list_committee_units(committee_id, principal, state, limit=200, offset=0),
            None,
        ),
        scores_or(
            lambda: reads.get_committee_ranking(
                committee_id, period, principal, state, order="asc", limit=200, offset=0
            ),
            empty_page(),
        ),
        notices_or(
            lambda: reads.get_committee_inbox(committee_id, principal, state, unread_only=False, limit=20, offset=0),
            empty_page(),
        ),
        notices_or(lambda: late_minutes(state, committee_id, period, offset=late_offset), None),
        notices_or(lambda: state.rpc.call(GetRules(unit_id=committee_id)), None),
        notices_or(lambda: period_checks(state, committee_id, period), None),
    )
    # no alert is raised on a half-year (it has no rating: DOMAIN.md "Alerts" name a period rated Average or Poor)
    half_year = is_half_year(period)
    lateness = {
        "late_minutes": [late_minutes_shown(item.model_dump()) for item in late.items] if late else [],
        "late_minutes_page": (
            {"offset": late_offset, "shown": len(late.items), "total": late.total} if late and late.total else None
        ),
        "alerts_due": None if half_year else alerts_ahead(rules, period, checks=checks),
        "alerts_wait": alerts_waiting_for(rules, period, checks=checks),
        # how old a meeting is when notifications keeps it silent, as notifications runs (None while it is silent)
        "history_cutoff_days": rules.history_cutoff_days if rules is not None else None,
        "units_unavailable": units is None,
    }
    # meetings silent: the units under the committee are not listed (the page says so), evaluation's figures stay
    units = units if units is not None else empty_page()
    if found is None:
        unscored = [{**unit, "score": None, "cells": None, "rollup": None, "rating": None} for unit in units["items"]]
        children = by_name(unscored, lambda child: child.get("name") or child["id"])
        return {"rollup": None, "children": children, "inbox": inbox["items"], **lateness}
    # the API's roll-up and ranking already read the month in progress as people do (services/gateway/rollups.py)
    # a half-year's weakest cells are evaluation's (queries.half_year_weakest, over all the committee's cells)
    rollup = found
    sub_committees = [unit for unit in units["items"] if unit["kind"] == "committee"]

    async def sub_rollup(unit_id: str) -> dict[str, Any] | None:
        try:
            child: dict[str, Any] | None = await scores_or(
                lambda: reads.get_committee_rollup(unit_id, period, principal, state), None
            )
        except RpcError as exc:
            if exc.field != "period":
                raise
            # before the sub-committee's data (the API's 404): not listed, as one without data for the period
            return {"no_data": True} if exc.code == "not_found" else None
        return child

    sub_rollups = await asyncio.gather(*(sub_rollup(unit["id"]) for unit in sub_committees))
    by_id = {unit["id"]: rollup_of for unit, rollup_of in zip(sub_committees, sub_rollups, strict=True)}
    children = subordinates(units["items"], rollup=rollup, ranking=ranking, sub_rollups=by_id, period=period)
    return {
        "rollup": rollup,
        "left_out": left_out_note(rollup, ranking),
        "children": children,
        "inbox": inbox["items"],
        **lateness,
    }


async def late_minutes(
    state: GatewayState, committee_id: str, period: str, *, offset: int = 0
) -> Page[LateMinutesReply]:
    """The subtree's meetings of the report period whose minutes are late (notifications' ListLateMinutes,
    LATE_MINUTES_SHOWN of them from `offset`); a half-year is one list of its six months, answered by notifications
    in the order a year's list has them."""
    return await state.rpc.call(
        ListLateMinutes(committee_id=committee_id, period=period, limit=LATE_MINUTES_SHOWN, offset=offset)
    )


async def period_checks(state: GatewayState, committee_id: str, period: str) -> PeriodChecksReply | None:
    """When the period's pending rating checks are due (notifications' GetPeriodChecks); None for a half-year, which
    is never checked (no rating, so no alert on it)."""
    if is_half_year(period):
        return None
    return await state.rpc.call(GetPeriodChecks(committee_id=committee_id, period=period))


def alerts_ahead(
    rules: RulesReply | None,
    period: str,
    *,
    checks: PeriodChecksReply | None = None,
    now: datetime | None = None,
) -> datetime | None:
    """When the alerts on `period`'s ratings will be decided, in Vietnam time, while that is still ahead at `now`:
    the later of shared.alert_rules.period_alerts_due under the committee's settings (`rules`) and the latest due time
    of the period checks of its cells notifications has still to run (`checks`: a rating that came after the grace
    is judged once settled, rules.period_check_due); None once it is past (the inbox then holds what was decided),
    when the rule is off, or while notifications does not answer (`rules` None; `checks` None: the grace alone). A
    trial's page showed a cell rated Kém and "Không có cảnh báo." before the check had run, first before the grace
    ended, then after it while the cell's late rating was still settling."""
    due = period_alerts_due(rules, period) if rules is not None else None
    if due is None:
        return None
    if checks is not None and checks.due_at is not None:
        due = max(due, checks.due_at.astimezone(VIETNAM_TZ))
    if due <= (now or datetime.now(VIETNAM_TZ)):
        return None
    return due


def alerts_waiting_for(rules: RulesReply | None, period: str, *, checks: PeriodChecksReply | None = None) -> str:
    """What the alerts on `period`'s ratings wait for, as alerts_ahead dates it: `grace` (the days left for minutes
    sent late: shared.alert_rules.period_alerts_due) when that ends later than the cells' pending period checks
    (`checks`, a late rating settling) or they are unknown, `settling` when those end later, `both` when they end
    together; the committee page says only that reason (a trial's page gave both whichever held it back)."""
    grace = period_alerts_due(rules, period) if rules is not None else None
    settle = checks.due_at if checks is not None else None
    if settle is None or (grace is not None and grace > settle):
        return "grace"
    if grace is None or settle > grace:
        return "settling"
    return "both"


def subordinates(
    units: list[dict[str, Any]],
    *,
    rollup: dict[str, Any],
    ranking: dict[str, Any],
    sub_rollups: dict[str, dict[str, Any] | None],
    period: str,
) -> list[dict[str, Any]]:
    """The committee's direct children as its page lists them for `period`, by name: the units its roll-up counts,
    so the table adds up to the summary's cells (a trial's 2025 page said 3 cells and listed 6, three of them set up
    in 2026). A cell is listed when the period's ranking (`ranking`: a page of the subtree's lines, those the
    roll-up's `cells` counts) holds it, whenever that page is the whole of it (else, evaluation not answering or a
    subtree larger than the page, every cell, as before); a sub-committee unless its own roll-up (`sub_rollups`,
    None while evaluation does not answer) has no data or no cell for the period, with its figures."""
    ranks = {item["cell_id"]: month_shown(item, period=period) for item in ranking["items"]}
    whole = ranking.get("total") == rollup.get("cells") and len(ranks) >= int(ranking.get("total") or 0)
    children = []
    for unit in units:
        if unit["kind"] == "committee":
            child = sub_rollups.get(unit["id"])
            if child is not None and (child.get("no_data") or not child.get("cells")):
                continue  # no cell of it counted in the period (set up later, or none yet)
            child = child or {}
            children.append({**unit, "score": child.get("score"), "cells": child.get("cells"), "rollup": child or None})
        elif unit["id"] in ranks or not whole:
            rank = ranks.get(unit["id"], {})
            children.append(
                {
                    **unit,
                    "score": rank.get("score"),
                    "rating": rank.get("rating"),
                    # read by i18n.rating_label: the table marks a provisional rating as the weakest-cells list does
                    "provisional": rank.get("provisional"),
                    "not_met_yet": rank.get("not_met_yet"),
                    # what its badge reads by (i18n.not_met_label): a meeting held, but not the regular one
                    "regular_held": rank.get("regular_held"),
                    "meetings_held": rank.get("meetings_held"),
                    "late_change": rank.get("late_change"),
                    "rating_reason": rank.get("rating_reason"),
                    # a half-year's line: no rating of its own, its quarters' (DOMAIN.md rates months, quarters, years)
                    "quarter_ratings": rank.get("quarter_ratings"),
                    # which of them are provisional, marked "(tạm tính)" (i18n.quarter_ratings_text)
                    "quarter_provisional": rank.get("quarter_provisional"),
                    # and their reasons, the half-year's (i18n.half_year_reason)
                    "quarter_reasons": rank.get("quarter_reasons"),
                }
            )
    return by_name(children, lambda child: child.get("name") or child["id"])


def left_out_note(rollup: dict[str, Any], ranking: dict[str, Any]) -> str:
    """What the committee page says under a running quarter, half-year or year's figures when evaluation left cells
    out of them (its `not_rated`: no month of the period ended since the cell was set up and no regular meeting this
    month, so out of the ratings, rates and score, though among `cells`): how many, and their names when the
    ranking page (`ranking`, its lines not met yet) holds them all; empty when none is left out, in a month (its
    cells not met yet are counted apart: rollups.rollup_shown) and in the period's first month (no month ended for
    any cell: i18n.months_base says the base). A trial's roll-up left a cell set up this month out unsaid."""
    count = int(rollup.get("not_rated") or 0)
    if not count or len(period_months(str(rollup["period"]))) == 1 or not rollup.get("regularity_months"):
        return ""
    waiting = [item for item in ranking.get("items") or [] if item.get("not_met_yet")]
    if len(waiting) != count:  # the ranking page does not hold them all (a large subtree): the count alone
        return n_(
            "The average score, ratings and rates do not count %(count)s newly set up cell with no month ended yet and "
            "no regular meeting this month.",
            "The average score, ratings and rates do not count %(count)s newly set up cells with no month ended yet "
            "and no regular meeting this month.",
            count,
        )
    named = by_name(waiting, lambda item: str(item.get("name") or item["cell_id"]))
    return n_(
        "The average score, ratings and rates do not count %(count)s newly set up cell with no month ended yet and no "
        "regular meeting this month: %(names)s.",
        "The average score, ratings and rates do not count %(count)s newly set up cells with no month ended yet and "
        "no regular meeting this month: %(names)s.",
        count,
        names=", ".join(isolated_name(str(item.get("name") or item["cell_id"])) for item in named),
    )


LATE_CHANGES_SHOWN = LATE_CHANGES_PAGE
"""How many cells whose month changed late the committee page lists at a time (evaluation's roll-up page of them,
queries.LATE_CHANGES_SHOWN); the rest are on its next pages (`changes_offset`)."""
LATE_MINUTES_SHOWN = 50
"""How many meetings with late minutes the committee page lists at a time (the longest overdue first, then those
whose records came late in the period); the rest are on its next pages (`late_offset`)."""
MISSING_RECORDS = {
    "minutes_submitted": MINUTES_STATES["none"],  # as every page says a meeting's minutes (i18n.minutes_label)
    "minutes": N_("minutes not published"),
    "resolution": N_("resolution not published"),
}
"""What a late meeting's records lack (notifications' list_late_minutes codes), as the page says it."""


def late_minutes_shown(item: dict[str, Any]) -> dict[str, Any]:
    """A late meeting as the committee page lists it: its cell, kind and start, and what its records lack, or, once
    they came late, when they arrived."""
    missing = [lower_first(_(MISSING_RECORDS.get(code, code))) for code in item["missing"]]
    if item.get("arrived_at"):
        missing = [_("submitted late: records arrived at %(when)s", when=format_moment(item["arrived_at"]))]
    return item | {
        "title": _(
            "%(cell)s: %(kind)s on %(when)s",
            cell=isolated_name(str(item.get("cell_name") or item["cell_id"])),
            kind=label("kind", item.get("kind")) or _("meeting"),
            when=format_moment(item["starts_at"]),
        ),
        "missing_text": ", ".join(missing),
    }


async def committee_trend(
    state: GatewayState, principal: Principal, committee_id: str, months: list[str]
) -> list[dict[str, Any]]:
    """The committee's roll-up for each month (oldest first) as the API reads it (rollup_shown); a month not rated
    (before the unit's data) has no figures, so the chart leaves a gap rather than drawing it as 0."""

    async def month_rollup(month: str) -> dict[str, Any]:
        gap = {"period": month, "score": None, "attendance_rate": None, "regularity": None}
        try:
            rollup: dict[str, Any] | None = await scores_or(
                lambda: reads.get_committee_rollup(committee_id, month, principal, state), None
            )
        except RpcError as exc:
            if exc.field != "period":
                raise
            return gap
        return gap if rollup is None else rollup

    return list(await asyncio.gather(*(month_rollup(month) for month in months)))


async def offered_first_month(state: GatewayState, committee_id: str, rollup: dict[str, Any] | None) -> str | None:
    """The first month the committee page's period picker starts from: its roll-up's `first_month` (kept as what
    evaluation last told, repository.keep_told_months), or, while evaluation does not answer (`rollup` None), the one
    it last told this gateway, before a restart too (a trial's picker then dropped December 2025 and Q4/2025); None
    when neither is known (the picker offers the calendar's periods, periods.choices). A committee's first month only
    moves earlier (a backfill), and each answer replaces it."""
    if rollup is None:
        return (await told_months(state.pool, committee_id))[0]
    month = rollup.get("first_month")
    if month:
        await keep_told_months(state.pool, committee_id, (str(month), None))
    return str(month) if month else None


async def committee_first_month(state: GatewayState, principal: Principal, committee_id: str) -> str | None:
    """The committee's first month of data (its roll-up's `first_month`, read for this month), None without data or
    while evaluation does not answer. Call it after the committee is authorized."""
    month = f"{datetime.now(VIETNAM_TZ):%Y-%m}"
    try:
        rollup = await scores_or(lambda: reads.get_committee_rollup(committee_id, month, principal, state), None)
    except RpcError as exc:
        if exc.field != "period":
            raise
        return None
    return rollup.get("first_month") if rollup else None


def ratings_chart(by_rating: dict[str, int], *, not_met_yet: int | None = None) -> str:
    """The ECharts option of the cells-by-rating bar chart, as JSON for the page; in the month in progress a last
    bar of the cells that have not met yet (rollup_shown), apart from the ratings."""
    values = [int(by_rating.get(rating, 0)) for rating in RATING_ORDER]
    colours = [RATING_COLOURS[rating] for rating in RATING_ORDER]
    names = [format_rating(rating) for rating in RATING_ORDER]
    if not_met_yet is not None:
        values.append(int(not_met_yet))
        colours.append(NOT_MET_COLOUR)
        names.append(_("No regular meeting yet"))
    bars = [{"value": value, "itemStyle": {"color": colour}} for value, colour in zip(values, colours, strict=True)]
    counts = ", ".join(f"{name} {format_number(value)}" for name, value in zip(names, values, strict=True))
    option = {
        # ECharts' own description is English ("This is a chart with type Bar chart…") and replaces the page's
        # aria-label: a Vietnamese one instead, with every bar's count
        "aria": {
            "enabled": True,
            "label": {"description": _("Bar chart of cells by rating: %(counts)s.", counts=counts)},
        },
        "grid": {"left": 40, "right": 16, "top": 16, "bottom": 8, "containLabel": True},
        # every bar's name drawn (ECharts' automatic interval dropped "Khá" and "Kém" at 1280 px), each wrapped
        # within its bar's width (static/charts.js sets `width` from the chart's size)
        "xAxis": {
            "type": "category",
            # each name wrapped only between words (i18n.unbroken: "Chưa sinh hoạt" / "thường kỳ")
            "data": [unbroken(name) for name in names],
            "axisLabel": {"interval": 0, "hideOverlap": False, "overflow": "break"},
        },
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {
                "type": "bar",
                "name": unbroken(_("Cells")),
                "label": {"show": True, "position": "top"},
                "data": bars,
            }
        ],
    }
    return json.dumps(option, ensure_ascii=False)


def running_in_trend(rollup: dict[str, Any]) -> bool:
    """Whether a month of the trend still waits for its cells' meetings: rollup_shown counts its cells not met yet
    apart (`not_met_yet` not None), so its regularity, over every cell, is not a month's figure yet."""
    return rollup.get("not_met_yet") is not None and len(period_months(str(rollup["period"]))) == 1


def trend_note(rollups: list[dict[str, Any]]) -> str:
    """The note under the 12-month trend naming the month in progress (`tháng đang diễn ra, chưa tính` its
    regularity, the other figures provisional); empty when every month drawn has closed."""
    running = [format_period(str(item["period"])) for item in rollups if running_in_trend(item)]
    if not running:
        return ""
    return _(
        "%(months)s: month in progress, regularity not counted yet (no point drawn); the average score and the"
        " attendance rate count the meetings held so far.",
        months=", ".join(running),
    )


def trend_chart(rollups: list[dict[str, Any]]) -> str:
    """The ECharts option of the 12-month trend: score, attendance rate and regularity per month, with a Vietnamese
    description of every month's figures for screen readers (static/charts.js writes the tooltip's figures with a
    decimal comma). The month in progress (running_in_trend) draws no regularity point, its cells not met yet are
    no failure (a trial read 0 % as a collapse), and the description says it is not counted yet (trend_note)."""
    months = [format_period(item["period"]) for item in rollups]
    running = [running_in_trend(item) for item in rollups]
    regularity_name = _("Regularity (%)")
    exact = [
        (_("Average score"), [_exact(item.get("score")) for item in rollups]),
        (_("Attendance rate (%)"), [_percent(item.get("attendance_rate")) for item in rollups]),
        (regularity_name, [None if running[i] else _percent(item.get("regularity")) for i, item in enumerate(rollups)]),
    ]
    # each figure rounded once from the unrounded reply: the points as the description (and charts.js) write them
    series = [(name, [_round(value) for value in data]) for name, data in exact]
    not_counted = _("not counted yet (month in progress)")

    def said(index: int, name: str, data: list[Decimal | None]) -> str:
        if name == regularity_name and running[index]:
            return f"{name} {not_counted}"
        return f"{name} {_no_data() if data[index] is None else format_number(data[index])}"

    figures = "; ".join(
        f"{month}: " + ", ".join(said(index, name, data) for name, data in exact) for index, month in enumerate(months)
    )
    description = _("Line chart of the last 12 months, by month: %(figures)s.", figures=figures or _no_data())
    option = {
        # ECharts' own description is English ("This is a chart. It consists of 3 series count…") and replaces the
        # page's aria-label: a Vietnamese one instead, with every month's figures
        "aria": {"enabled": True, "label": {"description": description}},
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0},
        "grid": {"left": 40, "right": 16, "top": 16, "bottom": 56},
        # every label drawn wrapped only between words (i18n.unbroken), should ECharts wrap one
        "xAxis": {"type": "category", "data": [unbroken(month) for month in months]},
        "yAxis": {"type": "value", "min": 0, "max": 100},
        "series": [{"type": "line", "name": unbroken(name), "data": data} for name, data in series],
    }
    return json.dumps(option, ensure_ascii=False)


def _no_data() -> str:
    return _("no data")


def _exact(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _percent(value: float | None) -> Decimal | None:
    return None if value is None else percent(value)


def _round(value: Decimal | None) -> float | None:
    return None if value is None else float(rounded_half_up(value, 1))


async def cell_year(state: GatewayState, principal: Principal, cell_id: str, year: str) -> dict[str, Any]:
    """A cell's ratings (months as a strip, quarters with its half-years begun, the year) and meetings of one year; a
    year not begun yet (one with a meeting planned ahead) has meetings but no ratings at all (shared.periods.has_begun).
    A half-year's line is evaluation's (GetCellHalfYear: no rating, its quarters' in `quarter_ratings`);
    `recalculating` when one of them was read off the org tree as last applied (its changes not applied yet)."""

    async def ratings_of() -> dict[str, Any]:
        if not has_begun(year, datetime.now(VIETNAM_TZ)):
            return empty_page()
        try:
            return await reads.list_cell_ratings(cell_id, principal, state, period=year, limit=200, offset=0)
        except RpcError as exc:
            if exc.code != "not_found" or exc.field != "period":
                raise
            return empty_page()  # a year before the cell's first month with a meeting in it: its meetings, no rating

    async def half_year_of(half: str) -> dict[str, Any] | None:
        if not has_begun(half, datetime.now(VIETNAM_TZ)):
            return None
        try:
            return await reads.cell_half_year(state, cell_id, half)
        except RpcError as exc:
            if exc.code != "not_found" or exc.field != "period":
                raise
            return None  # the cell did not exist in it

    halves = [f"{year}-H1", f"{year}-H2"]
    ratings, meetings, *half_years = await asyncio.gather(
        scores_or(ratings_of, empty_page()),
        meetings_or(
            state.directory,
            lambda: reads.list_cell_meetings(cell_id, principal, state, period=year, limit=200, offset=0),
            empty_page(),
        ),
        *(scores_or(partial(half_year_of, half), None) for half in halves),
    )
    by_period = {item["period"]: item for item in ratings["items"]}
    by_period |= {line["period"]: line for line in half_years if line}
    strip = [
        month_shown({"period": f"{year}-{month:02d}", **by_period.get(f"{year}-{month:02d}", {})})
        for month in range(1, 13)
    ]
    # each half-year after its second quarter, computed by evaluation as a committee's half-year counts the cell
    quarters: list[dict[str, Any]] = []
    for quarter in range(1, 5):
        quarters.append(by_period.get(f"{year}-Q{quarter}") or {"period": f"{year}-Q{quarter}"})
        if quarter % 2 == 0 and f"{year}-H{quarter // 2}" in by_period:
            # its quarters' ratings say "(tạm tính)" where evaluation's `quarter_provisional` marks them, as their
            # own rows do (i18n.quarter_ratings_text)
            quarters.append(by_period[f"{year}-H{quarter // 2}"])
    items = sorted(meetings["items"], key=lambda item: str(item.get("starts_at") or ""), reverse=True)
    # a half-year's lines read off the org tree as last applied while its changes wait say so (i18n.recalculating_note)
    recalculating = any(line.get("recalculating") for line in half_years if line)
    return {
        "strip": strip,
        "quarters": quarters,
        "year_row": by_period.get(year),
        "meetings": items,
        "recalculating": recalculating,
    }


async def cell_months(state: GatewayState, cell_id: str) -> tuple[str | None, str | None, bool]:
    """(first_month, last_month, known): the months the cell existed in, as evaluation knows it (its span, kept as
    what it last told: repository.keep_told_months), or as it last told this gateway, before a restart too, while it
    does not answer (a trial's cell page then offered 2024, a year the cell had no data for); (None, None) while it
    knows none, or is silent and never told. `known` is False only then, silent and never told (no row of
    gateway.web_told_months): its years are not known at all. Call it after the cell is authorized."""
    reply = await scores_or(
        lambda: state.rpc.call(GetCellPeriods(cell_id=cell_id, year=int(datetime.now(VIETNAM_TZ).year))), None
    )
    if reply is None:
        told = await told_span(state.pool, cell_id)
        if told is None:
            return None, None, False
        return told[0], told[1], True
    await keep_told_months(state.pool, cell_id, (reply.first_month, reply.last_month))
    return reply.first_month, reply.last_month, True


async def cell_year_span(state: GatewayState, cell_id: str) -> tuple[list[str], str]:
    """(years, earliest): the years a cell's pages offer, latest first (periods.cell_years over its span), and the
    earliest year they show (from 2000 while evaluation knows no span for it). Call it after the cell is
    authorized."""
    years, earliest, _, _ = await cell_span(state, cell_id)
    return years, earliest


async def cell_span(state: GatewayState, cell_id: str) -> tuple[list[str], str, tuple[str | None, str | None], bool]:
    """cell_year_span's (years, earliest) with the (first_month, last_month) they come from (cell_months) and whether
    they are known. While evaluation does not answer and never told this gateway of the cell (cell_months' `known`
    False), only this year is offered, never guessed years (a trial's page offered 2024 without saying why: the page
    says why: cell.html's `years-unknown` note), from 2000 as earliest."""
    first_month, last_month, known = await cell_months(state, cell_id)
    years = cell_years(first_month, last_month) if known else [this_month()[:4]]
    earliest = years[-1] if first_month is not None else str(EARLIEST_MEETING.year)
    return years, earliest, (first_month, last_month), known


def months_existed(
    strip: list[dict[str, Any]], first_month: str | None, last_month: str | None
) -> list[dict[str, Any]]:
    """The strip's months the cell existed in (its span; every month while it is not known): a trial's cell set up
    in December 2025 showed January to November 2025 as months without a rating."""
    return [
        month
        for month in strip
        if (first_month is None or month["period"] >= first_month)
        and (last_month is None or month["period"] <= last_month)
    ]


def periods_existed(
    rows: list[dict[str, Any]], first_month: str | None, last_month: str | None
) -> list[dict[str, Any]]:
    """The rows (quarters, half-years: `2026-Q1`, `2026-H2`) with a month the cell existed in (its span; every row
    while it is not known): a trial's cell set up in December 2026 listed Quý I–III/2026 as quarters not rated."""
    return [
        row
        for row in rows
        if any(
            (first_month is None or month >= first_month) and (last_month is None or month <= last_month)
            for month in period_months(str(row["period"]))
        )
    ]


async def all_cell_meetings(state: GatewayState, principal: Principal, cell_id: str) -> list[dict[str, Any]]:
    """Every meeting of the cell, of any year (the API's list, page by page). Call it after the cell is
    authorized."""
    items: list[dict[str, Any]] = []
    cursor: str | None = ""
    while cursor is not None:  # by cursor: a meeting scheduled meanwhile neither skips nor repeats another
        page = await reads.list_cell_meetings(cell_id, principal, state, period=None, limit=200, cursor=cursor)
        items += page["items"]
        cursor = page["next"]
    return items


def meeting_years(meetings: list[dict[str, Any]]) -> set[str]:
    """The years (Vietnam time, `2027`) in which the meetings start."""
    starts = (parse_moment(item.get("starts_at")) for item in meetings)
    return {str(start.astimezone(VIETNAM_TZ).year) for start in starts if start is not None}


def ahead(meetings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The meetings still ahead (upcoming: scheduled, not held, starting later), soonest first, whatever their
    year."""
    return sorted((item for item in meetings if upcoming(item)), key=lambda item: str(item.get("starts_at")))


MEMBER_SHOWN = ("id", "full_name", "status", "probation_ends_on", "left_on")
"""What a plain member reads of their cell's members: names for the roster, minutes and tasks, and the status and
probation end the minutes split the summoned by (exports.summoned_split); never contact details."""


MEMBERS_PAGE = MEMBERS_PAGE_MAX
"""Members per ListMembersAfter reply members_by_id reads: a cell of 20,000 in 4 replies, each costing the meetings
service its own rows only (keyset by id), ordered once here."""


async def members_by_id(
    state: GatewayState,
    principal: Principal,
    cell_id: str,
    *,
    at: datetime | None = None,
    since: datetime | None = None,
) -> dict[str, dict[str, Any]]:
    """The cell's members by id in Vietnamese order of their names: whole for those who may read the roster, only
    `MEMBER_SHOWN` for a plain member of this cell (they sit in its meetings), empty for anyone else; those of today,
    or with `at` those the snapshots in force at that moment put in the cell (a meeting's start: whom its roster
    lists, so a member who left since is still listed, with `left_on`, and one another cell held then is not), or
    with `since` too those they put in it at some moment from `since` to `at` (a period's members). Read by cursor
    (ListMembersAfter, MEMBERS_PAGE a reply) and ordered once here, so the time grows with the cell's size, not its
    square (offset pages of 200 each ordered the whole cell by name: 269 s for a cell of 20,305)."""
    own_cell = principal.role is Role.MEMBER and principal.unit_id == cell_id
    if principal.role not in (Role.SECRETARY, Role.COMMITTEE_OFFICER) and not own_cell:
        return {}
    if not own_cell:  # as reads.cell_members_at, once for the whole list
        await authorize_unit(principal, cell_id, directory=state.directory, kind="cell", roles=reads.ROSTER_READERS)
    members: dict[str, dict[str, Any]] = {}
    after = ""
    while True:
        request = ListMembersAfter(cell_id=cell_id, after_id=after, limit=MEMBERS_PAGE, at=at, since=since)
        reply = await state.rpc.call(request)
        for item in reply.items:
            members[item.id] = {key: getattr(item, key) for key in MEMBER_SHOWN} if own_cell else item.model_dump()
        if reply.next_after is None:
            return by_person_values(members, lambda member: member.get("full_name"))
        after = reply.next_after


async def meeting_members(state: GatewayState, principal: Principal, meeting: Any) -> dict[str, dict[str, Any]]:
    """The members a meeting (a reply or its dict) names, by id in Vietnamese order of their names: those of its cell
    at its start (members_by_id `at`: a member who left since keeps their name, with `left_on`), then those of today
    it does not list (one who came after its start and was put on its roster). Every page and export naming the
    people of a past meeting reads them here: a trial's meeting page showed a removed member's raw id."""
    found = meeting if isinstance(meeting, dict) else meeting.model_dump()
    cell_id, starts_at = str(found["cell_id"]), parse_moment(found.get("starts_at"))
    if starts_at is None:
        return await members_by_id(state, principal, cell_id)
    then, today = await asyncio.gather(
        members_by_id(state, principal, cell_id, at=starts_at), members_by_id(state, principal, cell_id)
    )
    merged = then | {member_id: member for member_id, member in today.items() if member_id not in then}
    return merged if len(merged) == len(then) else by_person_values(merged, lambda member: member.get("full_name"))


def left_since(members: dict[str, dict[str, Any]], *, today: date | None = None) -> dict[str, date]:
    """The day each of `members` (members_by_id) who has left the cell by `today` (Vietnam's, by default) left it
    (`left_on`), for the pages to say beside their name."""
    today = today or datetime.now(VIETNAM_TZ).date()
    found = {}
    for member_id, member in members.items():
        left_on = member.get("left_on")
        day = date.fromisoformat(left_on) if isinstance(left_on, str) else left_on
        if isinstance(day, date) and day <= today:
            found[member_id] = day
    return found


async def meeting_score(state: GatewayState, principal: Principal, meeting_id: str) -> dict[str, Any] | None:
    """The meeting's score, or None while it has none (a cancelled meeting or one still ahead never, even before
    evaluation withdraws it: reads.meeting_score) or evaluation does not answer (availability)."""
    try:
        score: dict[str, Any] | None = await scores_or(lambda: reads.meeting_score(meeting_id, principal, state), None)
    except RpcError as exc:
        if exc.code == "not_found":
            return None
        raise
    return score


def upcoming(meeting: Any) -> bool:
    """Whether a meeting (a reply or its dict) is still ahead: not cancelled and not begun (reads.begun, the one rule
    evaluation scores by: shared.plausible.meeting_begun). Such a meeting is shown as scheduled, not rated: it has
    taken place nowhere yet, so it has no score (the API answers 404 meeting_not_started)."""
    found = meeting if isinstance(meeting, dict) else meeting.model_dump()
    return found.get("status") != "cancelled" and not reads.begun(found)


async def framework(state: GatewayState, framework_id: str, version: str) -> dict[str, Any] | None:
    """A framework document (its Vietnamese criterion names), kept once read (reads.framework_document); None when
    evaluation does not answer or knows no such version."""
    try:
        return await scores_or(lambda: reads.framework_document(state, framework_id, version), None)
    except RpcError:
        return None


async def gate_sentence(state: GatewayState, score: dict[str, Any] | None) -> str | None:
    """The score's sentence on the gate (explain.gate_note: `Đạt 95,8 điểm nhưng hạ từ Tốt xuống Khá vì …`), the items
    named by the framework that scored it; None when no gate lowered the rating (no framework read then)."""
    if score is None or not (score.get("gate") or {}).get("applied"):
        return None
    reference = score.get("framework") or {}
    return gate_note(score, await framework(state, str(reference.get("id")), str(reference.get("version"))))


async def manual_items(
    state: GatewayState, score: dict[str, Any] | None, kind: str | None = None
) -> list[dict[str, Any]]:
    """The meeting score's applicable items assessed by hand, each its score line (code, max, points) with its
    Vietnamese `name` from the framework the score was computed by (the one in force for the meeting), as said for a
    meeting of `kind` (item_name_for); [] without a score. The assessment forms show these and judge a post by them,
    never by names or maxima the post carries."""
    if score is None:
        return []
    lines = [line for line in score.get("criteria") or [] if line.get("source") == "manual" and line["applicable"]]
    if not lines:
        return []
    reference = score.get("framework") or {}
    names = item_names(await framework(state, str(reference.get("id")), str(reference.get("version"))))
    return [
        {**line, "name": item_name_for(line["code"], names.get(line["code"], ("", line["code"]))[1], kind)}
        for line in lines
    ]


def score_text(value: float | None) -> str:
    """A score as `72,5`."""
    return format_number(value)


async def posted_items(
    state: GatewayState, principal: Principal, meeting_id: str, kind: str | None = None
) -> list[dict[str, Any]]:
    """The manual items a posted assessment of the meeting is judged by (manual_items of its score, read again:
    never what the post says); ServiceUnavailable (evaluation, nothing sent) while evaluation does not answer: no
    item to judge points by, so the form comes back as typed to send again (core.form_again_page), never a
    "fill in the points" for boxes not shown nor an answer that drops the points typed."""
    items = await manual_items(state, await meeting_score(state, principal, meeting_id), kind)
    if not items and scores_unavailable():
        raise ServiceUnavailable(SCORES_SERVICE)
    return items


async def ranking_rows(
    state: GatewayState, principal: Principal, committee_id: str, period: str, *, offset: int, limit: int
) -> dict[str, Any]:
    """A page of the committee's ranking as the API answers it (reads.get_committee_ranking, best first: `items`,
    `total`), each line with `committee`: the name of the committee directly above its cell (its id when unnamed; None
    while meetings does not answer and the gateway has no copy of the cell: the page says so)."""
    ranking = await reads.get_committee_ranking(
        committee_id, period, principal, state, order="desc", limit=limit, offset=offset
    )
    cells = await asyncio.gather(*(unit_or_none(state, item["cell_id"]) for item in ranking["items"]))
    parents = {cell.parent_id for cell in cells if cell is not None and cell.parent_id}
    found = dict(zip(parents, await asyncio.gather(*(unit_or_none(state, unit) for unit in parents)), strict=True))
    names = {unit_id: (unit.name if unit is not None and unit.name else unit_id) for unit_id, unit in found.items()}
    items = [
        item | {"committee": names.get(cell.parent_id or "") if cell is not None else None}
        for item, cell in zip(ranking["items"], cells, strict=True)
    ]
    return {**ranking, "items": items}
