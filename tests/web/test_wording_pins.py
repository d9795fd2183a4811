"""Pins of wordings and rows that h385's refactors must leave as they were: months_base's six wordings (now one
table, RUNNING_BASES) and moved_away_rows keeping only the moves of a mixed list (the one place that filters them)."""

import asyncio
import csv
import importlib
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.gateway.web import i18n
from tests.web.test_late_unit_move_note import MOVED

exports = importlib.import_module("services.gateway.web.exports")


@pytest.mark.parametrize(
    ("period", "gone", "said"),
    [
        (
            "2026-Q4",
            [],
            "tính trên 3 chi bộ đã sinh hoạt thường kỳ tháng 10/2026 (quý đang ở tháng đầu, chưa có tháng nào đã qua)",
        ),
        (
            "2026-H2",
            [],
            "tính trên 3 chi bộ đã sinh hoạt thường kỳ tháng 7/2026 (6 tháng đang ở tháng đầu, chưa có "
            "tháng nào đã qua)",
        ),
        (
            "2026",
            [],
            "tính trên 3 chi bộ đã sinh hoạt thường kỳ tháng 1/2026 (năm đang ở tháng đầu, chưa có tháng nào đã qua)",
        ),
        (
            "2026-Q4",
            ["2026-10", "2026-11"],
            "3/5 chi bộ đã sinh hoạt thường kỳ đủ các tháng đã qua của quý (tháng 10–11/2026; quý đang diễn ra)",
        ),
        (
            "2026-H2",
            ["2026-07"],
            "3/5 chi bộ đã sinh hoạt thường kỳ đủ các tháng đã qua của 6 tháng cuối năm 2026 "
            "(tháng 7/2026; đang diễn ra)",
        ),
        (
            "2026",
            ["2026-01", "2026-02"],
            "3/5 chi bộ đã sinh hoạt thường kỳ đủ các tháng đã qua của năm (tháng 1–2/2026; năm đang diễn ra)",
        ),
    ],
)
def test_months_base_says_each_kind_of_running_period_as_before(period: str, gone: list[str], said: str) -> None:
    rollup = {"period": period, "regularity_months": gone, "cells": 6, "irregular": 2, "not_met_yet": 1}
    assert i18n.months_base(rollup) == (
        f"{said}; chưa tính 1 chi bộ chưa có tháng nào đã qua và chưa sinh hoạt thường kỳ tháng này"
    )
    assert i18n.months_base(rollup | {"not_met_yet": 0}).startswith(said.replace("3/5", "4/6").replace(" 3 ", " 4 "))


RESULT = {"kind": "result", "changed_at": "2026-12-03T10:00:00+07:00"}
CHANGES = [
    {"cell_id": "thon-1", "name": "Chi bộ thôn 1", "late_change": RESULT},
    {"cell_id": "thon-2", "name": "Chi bộ thôn 2", "late_change": MOVED},
    {"cell_id": "thon-3", "name": "Chi bộ thôn 3", "late_change": MOVED},
    {"cell_id": "thon-3", "name": "Chi bộ thôn 3", "late_change": MOVED},
]


def test_moved_away_rows_alone_keeps_only_the_moves_of_cells_not_seen_once_each() -> None:
    seen = {"thon-2"}
    rows = exports.moved_away_rows(iter(CHANGES), seen=seen, period="2026-11")
    assert rows == [{"cell_id": "thon-3", "name": "Chi bộ thôn 3", "period": "2026-11", "late_change": MOVED}]
    assert seen == {"thon-2", "thon-3"}


def test_the_streamed_csv_ends_with_a_line_for_each_move_only_given_every_late_change() -> None:
    def row(cell: str) -> dict[str, Any]:
        return {"cell_id": cell, "name": cell, "period": "2026-11", "score": 80.0, "rating": "good"}

    async def rest() -> AsyncIterator[list[dict[str, Any]]]:
        yield [row("thon-2")]

    async def streamed() -> bytes:
        chunks = exports.report_csv_chunks([row("thon-1")], rest(), period="2026-11", moves=iter(CHANGES))
        return b"".join([chunk async for chunk in chunks])

    lines = list(csv.reader(io.StringIO(asyncio.run(streamed()).decode("utf-8-sig")), delimiter=";"))
    assert [line[0] for line in lines[1:]] == ["thon-1", "thon-2", "thon-3"]
