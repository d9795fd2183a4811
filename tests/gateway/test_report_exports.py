"""A committee's report downloads at any size: the CSV read from evaluation a page of cells at a time and streamed
(the gateway holds one page, not the 35,000 rows of a province and their text), the PDF of a committee above
exports.FULL_LIST_CELLS its figures by directly subordinate unit and its weakest cells, saying the full list is in
the CSV (a province's cell-by-cell PDF took minutes and gigabytes to draw, and nobody reads 900 pages)."""

import asyncio
import csv
import importlib
import io
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pypdf import PdfReader

from services.gateway.bootstrap import GatewayState
from shared.contracts import evaluation_rpc as evaluation
from shared.envelope import now
from shared.periods import month_of, previous_period
from tests.gateway.fakes import World
from tests.support.ids import random_id
from tests.support.web import signed_in_web

exports = importlib.import_module("services.gateway.web.exports")
"""The exports module (the package's attribute `exports` is the pages' module of the same name)."""
PERIOD = previous_period(month_of(now()))
"""A closed month: the fake evaluation rates cell A1 Average 60.5, A2 Poor 30.0, B1 Fair 80.5."""


@pytest.fixture
async def officer(
    app_and_state: tuple[object, GatewayState], world: World, amqp_url: str, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in as an officer of the fake province's root committee."""
    app, _ = app_and_state
    async with signed_in_web(app, "tinh", "committee_officer", world.root, database_url, amqp_url) as client:
        yield client


def pdf_words(content: bytes) -> str:
    """The PDF's text, every run of white space one space (a paragraph's line breaks included)."""
    return " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages).split())


async def test_the_report_csv_is_read_from_evaluation_a_page_of_cells_at_a_time(
    officer: httpx.AsyncClient, world: World, state: GatewayState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The old CSV read every ranked cell, then asked evaluation once per cell for its figures (35,000 calls for a
    province) and built the whole file in memory. It now reads pages of cells with all their figures, by cursor."""
    asked: list[Any] = []
    call = state.rpc.call

    async def recorded(request: Any, **kwargs: Any) -> Any:
        asked.append(request)
        return await call(request, **kwargs)

    monkeypatch.setattr(state.rpc, "call", recorded)
    monkeypatch.setattr(exports, "REPORT_PAGE", 1, raising=False)
    answer = await officer.get(f"/app/committees/{world.root}/report.csv?period={PERIOD}")
    assert answer.status_code == 200, answer.text[:500]
    assert answer.content.startswith(b"\xef\xbb\xbf") and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=";"))
    # in evaluation's order, each row's figures as the cell's ratings give them
    assert sorted(row[:4] for row in rows[1:]) == sorted(
        [
            [world.cell_b1, "Chi bộ khu phố 3", "80,5", "Khá"],
            [world.cell_a1, "Chi bộ khu phố 1", "60,5", "Trung bình"],
            [world.cell_a2, "Chi bộ khu phố 2", "30", "Kém"],
        ]
    )
    assert rows[1][6:] == ["1", "0", "90", "50", "", ""]  # no month changed after it closed, no rating reason
    pages = [request for request in asked if isinstance(request, evaluation.GetCommitteeReport)]
    assert len(pages) >= 3 and all(request.limit == 1 for request in pages), asked
    assert [request.after_cell for request in pages] == [None, *(row[0] for row in rows[1:-1])]
    assert not [request for request in asked if isinstance(request, evaluation.GetCellPeriods)]


def test_the_report_csv_holds_one_page_of_cells_at_a_time() -> None:
    """60 pages of 1,000 cells: the chunks add up to the whole file, and the memory held while they are written and
    sent is a small share of it (the old report_csv built every row and the whole text at once)."""
    pages = 60

    def page(number: int) -> list[dict[str, Any]]:
        return [
            {
                "cell_id": f"cb{number:03d}{index:04d}",
                "name": f"Chi bộ thôn {number}-{index} xã Hòa Bình",
                "score": 72.5,
                "rating": "fair",
                "regular_held": 1,
                "thematic_held": 0,
                "attendance_rate": 0.9,
                "speaking_rate": 0.5,
            }
            for index in range(1000)
        ]

    async def rest() -> AsyncIterator[list[dict[str, Any]]]:
        for number in range(1, pages):
            yield page(number)

    async def streamed() -> tuple[int, int]:
        size = 0
        exports.report_csv(page(0)[:1], period=PERIOD)  # the locale's data and catalog loaded once, before measuring
        tracemalloc.start()
        try:
            async for chunk in exports.report_csv_chunks(page(0), rest(), period=PERIOD):
                size += len(chunk)
            return size, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    size, peak = asyncio.run(streamed())
    assert size > 5_000_000
    assert peak < size / 3, (size, peak)


async def test_the_pdf_of_a_committee_above_the_full_list_gives_its_sub_units_and_weakest_cells(
    officer: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above FULL_LIST_CELLS cells the PDF lists no cell by cell: the figures of each directly subordinate unit,
    the weakest cells (Average or Poor, worst first, at most PDF_WEAKEST), and a note that the CSV has them all."""
    monkeypatch.setattr(exports, "FULL_LIST_CELLS", 2, raising=False)  # the province's three cells are above it
    monkeypatch.setattr(exports, "PDF_WEAKEST", 1, raising=False)
    answer = await officer.get(f"/app/committees/{world.root}/report.pdf?period={PERIOD}")
    assert answer.status_code == 200, answer.text[:500]
    text = pdf_words(answer.content)
    assert "Theo đơn vị trực thuộc" in text and "Đảng ủy phường A" in text and "Đảng ủy phường B" in text
    assert "Các chi bộ yếu nhất" in text and "Chi bộ khu phố 2" in text  # Poor 30: the weakest
    assert "Chi bộ khu phố 1" not in text  # Average, but only one is listed
    assert "Chi bộ khu phố 3" not in text  # Fair: never weak
    assert "Đảng bộ có 3 chi bộ" in text and "có đầy đủ trong tệp CSV của báo cáo" in text
    # a ward of two cells is within the full list: every cell, no note
    ward = pdf_words((await officer.get(f"/app/committees/{world.ward_a}/report.pdf?period={PERIOD}")).content)
    assert "Chi bộ khu phố 1" in ward and "Chi bộ khu phố 2" in ward
    assert "Theo đơn vị trực thuộc" not in ward and "tệp CSV" not in ward


async def test_the_summary_pdf_lists_every_late_change_not_how_many_more_there_are(
    officer: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The summary PDF ended its late changes with "và 2 chi bộ khác" and no way to them: a PDF is a document, so it
    lists every cell whose month changed after it closed, read page by page (GetCommitteeRollup.late_changes_offset)."""
    monkeypatch.setattr(exports, "FULL_LIST_CELLS", 2, raising=False)  # the province's three cells are above it
    monkeypatch.setattr(evaluation, "LATE_CHANGES_PAGE", 1, raising=False)  # one a page: three pages to read
    change = {
        "meeting_id": "m-late",
        "old_rating": "fair",
        "old_score": 80.0,
        "new_rating": "good",
        "new_score": 92.0,
        "changed_at": "2026-12-04T02:00:00+00:00",
        "first_changed_at": "2026-12-04T02:00:00+00:00",
        "changes": 1,
    }
    cells = (world.cell_a1, world.cell_a2, world.cell_b1)
    for cell in cells:
        world.late_changes[(cell, PERIOD)] = change
    try:
        answer = await officer.get(f"/app/committees/{world.root}/report.pdf?period={PERIOD}")
    finally:
        for cell in cells:  # the world is the session's: later tests read these cells' months unchanged
            world.late_changes.pop((cell, PERIOD))
    assert answer.status_code == 200, answer.text[:500]
    text = pdf_words(answer.content)
    assert "Kết quả thay đổi sau khi tháng đã kết thúc" in text
    for name in ("Chi bộ khu phố 1", "Chi bộ khu phố 2", "Chi bộ khu phố 3"):
        assert f"{name} — Ghi nhận muộn" in text, text
    assert "chi bộ khác" not in text


async def test_the_summary_pdf_asks_evaluation_once_for_every_sub_units_roll_up(
    officer: httpx.AsyncClient, world: World, state: GatewayState, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The summary PDF asked evaluation for one roll-up per directly subordinate unit (a province's ~100 communes:
    ~100 RPCs over RabbitMQ); it now asks once for them all (GetUnitRollups), and the root's own roll-up once."""
    asked: list[Any] = []
    call = state.rpc.call

    async def recorded(request: Any, **kwargs: Any) -> Any:
        asked.append(request)
        return await call(request, **kwargs)

    monkeypatch.setattr(state.rpc, "call", recorded)
    monkeypatch.setattr(exports, "FULL_LIST_CELLS", 2, raising=False)  # the province's three cells are above it
    answer = await officer.get(f"/app/committees/{world.root}/report.pdf?period={PERIOD}")
    assert answer.status_code == 200, answer.text[:500]
    text = pdf_words(answer.content)
    assert "Đảng ủy phường A" in text and "Đảng ủy phường B" in text
    rollups = [request.committee_id for request in asked if isinstance(request, evaluation.GetCommitteeRollup)]
    assert rollups == [world.root], f"{len(rollups)} GetCommitteeRollup calls: {rollups}"
    batched = [request for request in asked if isinstance(request, evaluation.GetUnitRollups)]
    assert [request.unit_ids for request in batched] == [[world.ward_a, world.ward_b]]


async def test_the_summary_pdf_counts_the_cells_directly_under_it_without_asking_for_their_figures(
    app_and_state: tuple[object, GatewayState],
    world: World,
    state: GatewayState,
    monkeypatch: pytest.MonkeyPatch,
    amqp_url: str,
    database_url: str,
) -> None:
    """The summary PDF asked evaluation for every direct child's roll-up figures (a commune of 700 cells: 700 items
    in the reply) only to count the cells with data among them. It now asks for the sub-committees' figures alone
    and for the count (CountDirectCells), and prints the same: the committees tabled, the cells with data counted
    (one without data up to the period's end is not)."""
    root, ward, cells = random_id("xa"), random_id("dv"), [random_id("thon") for _ in range(3)]
    world.add_unit(root, "Đảng ủy xã Đếm", "committee", None)
    world.add_unit(ward, "Đảng ủy cơ sở Đếm", "committee", root)
    world.add_unit(random_id("thon"), "Chi bộ thôn dưới cơ sở", "cell", ward)
    for index, cell in enumerate(cells):
        world.add_unit(cell, f"Chi bộ thôn Đếm {index}", "cell", root)
    world.without_data[cells[2]] = "period"  # no month of it stored up to the period's end: not counted
    asked: list[tuple[Any, Any]] = []
    call = state.rpc.call

    async def recorded(request: Any, **kwargs: Any) -> Any:
        reply = await call(request, **kwargs)
        asked.append((request, reply))
        return reply

    monkeypatch.setattr(state.rpc, "call", recorded)
    monkeypatch.setattr(exports, "FULL_LIST_CELLS", 2, raising=False)  # the commune's four cells are above it
    app, _ = app_and_state
    async with signed_in_web(app, "xa-dem", "committee_officer", root, database_url, amqp_url) as officer:
        answer = await officer.get(f"/app/committees/{root}/report.pdf?period={PERIOD}")
    assert answer.status_code == 200, answer.text[:500]
    text = pdf_words(answer.content)
    assert "Theo đơn vị trực thuộc" in text and "Đảng ủy cơ sở Đếm" in text
    assert "Bảng không liệt kê 2 chi bộ trực thuộc trực tiếp đảng bộ" in text, text
    figures = [
        (request.unit_ids, len(reply.items))
        for request, reply in asked
        if isinstance(request, evaluation.GetUnitRollups)
    ]
    assert figures == [([ward], 1)], f"roll-up figures asked (ids, items answered): {figures}"
    counted = [request.committee_id for request, _ in asked if isinstance(request, evaluation.CountDirectCells)]
    assert counted == [root]


async def test_the_summary_pdf_of_a_committee_of_cells_has_no_table_of_its_cells(
    officer: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A committee above FULL_LIST_CELLS whose directly subordinate units are cells (a commune of 700) tabled each
    cell as a unit: a row per cell, 20 pages. Its summary now counts them and lists only the weakest."""
    monkeypatch.setattr(exports, "FULL_LIST_CELLS", 1, raising=False)  # the ward's two cells are above it
    answer = await officer.get(f"/app/committees/{world.ward_a}/report.pdf?period={PERIOD}")
    assert answer.status_code == 200, answer.text[:500]
    text = pdf_words(answer.content)
    assert "Theo đơn vị trực thuộc" not in text, text
    assert "Đảng bộ có 2 chi bộ trực thuộc" in text and "có đầy đủ trong tệp CSV của báo cáo" in text
    assert "Các chi bộ yếu nhất" in text and "Chi bộ khu phố 2" in text and "Chi bộ khu phố 1" in text
