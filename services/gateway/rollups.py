"""The month in progress as people read it, derived once for the API and the pages.

Evaluation rates a running month as it stands: a cell that has not held its regular meeting yet is Poor at 0 there
(the month is rated Poor once it closes without one: DOMAIN.md "Quality evaluation", Periods). Until the month ends
(by the clock: shared.periods.awaiting_meeting, the one rule, never a row's stored `in_progress` flag) that is no
verdict, so the gateway's reads (and the pages and exports, which read through them) count such cells apart as
`not_met_yet`: not among the Poor cells, not at 0 in the average score nor in the trend, not among the weakest
cells. The regularity and the thematic coverage stay over every cell (DOMAIN.md: the share of cells that met every
month), the page naming their base while the month runs ("1/6 chi bộ đã sinh hoạt thường kỳ"). A quarter or year
still running reads the same rule: evaluation leaves out its running month until the cell meets, so a cell whose
only month so far is the running one (set up this month) has no rating yet; the roll-up counts it apart too
(`not_met_yet`, from evaluation's `not_rated`) and its ranking line has neither score nor rating. A closed month,
quarter and year stay exactly as evaluation rated them.
"""

from datetime import datetime
from typing import Any

from shared.envelope import now as clock
from shared.periods import awaiting_meeting, is_running, month_of, period_months


def month_shown(row: dict[str, Any], *, period: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """A cell's month (its rating row, or its line of a committee's ranking) as it reads: a month still waiting for
    the cell's regular meeting at `now` (shared.periods.awaiting_meeting: by the clock, whatever `in_progress` flag
    the row was stored with) has no rating or score yet, only `not_met_yet`; once closed without one it is Poor as
    evaluation rated it. `period`: the row's own `period` unless given (a ranking line has none); `now`: the clock."""
    flags = row.get("flags") or []
    period = period or row.get("period")
    waiting = period is not None and awaiting_meeting(period, clock() if now is None else now)
    if waiting and ("no_regular_meeting" in flags or row.get("regular_held") == 0):
        return {**row, "rating": None, "score": None, "not_met_yet": True}
    if "rating" in row and row["rating"] is None and row.get("score") is None and not row.get("not_met_yet"):
        # a ranking line of a running quarter or year that evaluation has not rated yet (no month counted so far)
        return {**row, "not_met_yet": True}
    return row


def held_without_regular(row: dict[str, Any]) -> bool:
    """Whether a cell's period row (or its line of a ranking) held some meeting but not its regular one: only thematic
    or extraordinary meetings so far (`meetings_held` above 0 with `regular_held` 0; a row rated before evaluation kept
    `meetings_held` reads its `thematic_held`). Such a month not met yet lacks its regular (thường kỳ) meeting
    (DOMAIN.md "Periods"), not any meeting."""
    if row.get("regular_held"):
        return False
    held = row.get("meetings_held")
    return bool(held if held is not None else row.get("thematic_held"))


def waiting_month(rollup: dict[str, Any]) -> bool:
    """Whether a roll-up as shown (rollup_shown) is of the month in progress, whose cells read through month_shown
    (in a running quarter or year only the lines evaluation left unrated are not met yet)."""
    return rollup.get("not_met_yet") is not None and len(period_months(rollup["period"])) == 1


def running_month(rollup: dict[str, Any], *, now: datetime | None = None) -> bool:
    """Whether a committee's roll-up is of a month still waiting for its cells' meetings at `now`
    (shared.periods.awaiting_meeting), with the count of its cells that have not met yet (`irregular`; an older
    evaluation service without it leaves the roll-up as it rated it)."""
    return awaiting_meeting(rollup["period"], clock() if now is None else now) and rollup.get("irregular") is not None


def regularity_months(period: str, *, now: datetime | None = None) -> list[str] | None:
    """The months (`YYYY-MM`, oldest first) whose regular meetings a running quarter, half-year or year's regularity
    counts at `now` (the clock): those of the period ended so far, empty in its first month (evaluation's
    domain.periods.evaluate_period counts the running month only for a cell that has met in it, so it is never the one
    a cell missed: DOMAIN.md "Periods", the share of cells that met every month); None for a month or a period not
    running."""
    at = clock() if now is None else now
    months = period_months(period)
    if len(months) == 1 or not is_running(period, at):
        return None
    return [month for month in months if month < month_of(at)]


def met_figures(rollup: dict[str, Any], waiting: int) -> dict[str, Any]:
    """The running month's figures of a roll-up that change while `waiting` of its cells have not met yet: the score
    is the mean of the cells that have met (evaluation's `met_score`; None while none has), a cell not met yet being
    no 0 until the month closes. The regularity and the thematic coverage stay evaluation's, over every cell of the
    committee (DOMAIN.md "Periods": the share of cells that met every month; a trial read 100 % beside five cells of
    six not met yet when they were over the cells that had met), their base named beside them (i18n.met_base); the
    pooled rates count held meetings only, so they stay too."""
    met = int(rollup.get("cells") or 0) - waiting > 0
    return {"score": rollup.get("met_score") if met else None}


def rollup_shown(rollup: dict[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """A committee's roll-up as the API answers it and the pages show it: in the month in progress the cells that
    have not met yet are counted apart (`not_met_yet`), not among the Poor cells; the score is the mean of the cells
    that have met (None while none has: met_figures), the regularity and the thematic coverage stay over every cell, the
    trend compares that score (no delta without it) and the weakest cells
    read as month_shown (the caller replaces them by those that met: `met_only`). Anything else keeps evaluation's
    figures, with `not_met_yet` None. A roll-up already shown is returned as it is. `now`: the clock."""
    if "not_met_yet" in rollup:
        return rollup
    if not running_month(rollup, now=now):
        gone = {"regularity_months": regularity_months(rollup["period"], now=now)}
        if rollup.get("in_progress") and len(period_months(rollup["period"])) > 1 and rollup.get("not_rated"):
            # a running quarter or year: evaluation already keeps its cells not rated yet out of every figure
            return {**rollup, **gone, "not_met_yet": int(rollup["not_rated"])}
        return {**rollup, **gone, "not_met_yet": None}
    waiting = int(rollup["irregular"])
    by_rating = dict(rollup.get("by_rating") or {})
    by_rating["poor"] = max(0, int(by_rating.get("poor", 0)) - waiting)
    met = met_figures(rollup, waiting)
    score = met["score"]
    trend = dict(rollup.get("trend") or {})
    if trend:
        previous = trend.get("previous_score")
        trend["score_delta"] = None if score is None or previous is None else score - previous
    return {
        **rollup,
        "by_rating": by_rating,
        # evaluation counts every cell without the month's regular meeting as irregular (among the Poor,
        # architecture.md); while the month runs those are the cells not met yet, so none is irregular yet
        "irregular": max(0, int(rollup["irregular"]) - waiting),
        "not_met_yet": waiting,
        **met,
        "trend": trend or rollup.get("trend"),
        "weakest": [
            shown
            for shown in (month_shown(item, period=rollup["period"], now=now) for item in rollup.get("weakest") or [])
            if not shown.get("not_met_yet")
        ],
    }


def no_data_rollup(committee_id: str, period: str, *, in_progress: bool) -> dict[str, Any]:
    """The roll-up of a committee that exists but has no data up to the end of `period` (no cell of its subtree has
    a month scored by then: a committee just loaded, or a period before its first data), as the API answers it:
    `no_data` true, every count 0, every rate, score and trend null, no weakest cell. Evaluation answers such a
    period not_found (a page of Poor would be false); the page says "Chưa có dữ liệu", the API agrees with 200."""
    return {
        "committee_id": committee_id,
        "period": period,
        "cells": 0,
        "by_rating": {"good": 0, "fair": 0, "average": 0, "poor": 0},
        "regularity": None,
        "attendance_rate": None,
        "speaking_rate": None,
        "thematic_coverage": None,
        "score": None,
        "trend": None,
        "weakest": [],
        "irregular": None,
        "met_score": None,
        "met_thematic_coverage": None,
        "not_rated": None,
        "in_progress": in_progress,
        "not_met_yet": None,
        "no_data": True,
    }
