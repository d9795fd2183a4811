"""Every read of a committee's figures says when evaluation answered it from the org tree as last applied (h417),
over the fakes: h412 made the roll-up say `recalculating` and `pending_tree_changes` while noted org-tree changes
wait, and its page "Số liệu đang được cập nhật theo thay đổi tổ chức mới nhất."; the ranking and weakest cells of the
API, the report's CSV and PDF, and a committee without data yet (the gateway's own empty answer) said nothing."""

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest
from pypdf import PdfReader

from services.gateway.bootstrap import GatewayState
from shared.envelope import now
from shared.periods import VIETNAM_TZ, month_of, previous_period
from tests.gateway.conftest import TokenFactory
from tests.gateway.fakes import World
from tests.gateway.test_minutes_label_pages import signed_in
from tests.support.ids import random_id
from tests.support.web import signed_in_web

PERIOD = "2026-10"
SAID = "Số liệu đang được cập nhật theo thay đổi tổ chức mới nhất."
READS = ("rollup", "ranking", "weakest")


def flag(body: dict[str, object]) -> tuple[object, object]:
    return body.get("recalculating"), body.get("pending_tree_changes")


def pdf_text(content: bytes) -> str:
    return " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages).split())


@pytest.fixture
async def web(
    app_and_state: tuple[object, GatewayState], world: World, amqp_url: str, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser signed in as an officer of the province's root committee."""
    app, _ = app_and_state
    async with signed_in_web(app, "tinh", "committee_officer", world.root, database_url, amqp_url) as client:
        yield client


async def test_the_api_ranking_and_weakest_say_recalculating_as_the_rollup_does(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, officer = f"/v1/committees/{world.root}", headers["province_officer"]
    for pending, said in ((0, (False, 0)), (7, (True, 7))):
        monkeypatch.setattr(world, "pending_tree_changes", pending)
        for read in READS:
            answer = await client.get(f"{base}/{read}?period={PERIOD}", headers=officer)
            assert answer.status_code == 200, (read, answer.text)
            assert flag(answer.json()) == said, (read, pending, answer.json())


async def test_a_committee_without_data_keeps_the_flag(
    client: httpx.AsyncClient,
    world: World,
    token_for: TokenFactory,
    app_and_state: tuple[object, GatewayState],
    amqp_url: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A committee whose cells are being moved in answers `no_data` until the change is applied: its empty roll-up,
    ranking and weakest cells say they are recalculating meanwhile, and its page says so under "Chưa có dữ liệu"."""
    committee, cell = random_id("xa-moi"), random_id("thon-moi")
    world.add_unit(committee, "Đảng ủy xã Mới", "committee", None)
    world.add_unit(cell, "Chi bộ thôn Mới", "cell", committee)
    world.without_data[committee] = "period"
    api = await token_for("committee_officer", committee, random_id("per"))
    period = previous_period(month_of(now()))
    app, _ = app_and_state
    async with signed_in_web(app, "xa-moi", "committee_officer", committee, database_url, amqp_url) as web:
        for pending, said in ((0, (False, 0)), (3, (True, 3))):
            monkeypatch.setattr(world, "pending_tree_changes", pending)
            for read in READS:
                answer = await client.get(f"/v1/committees/{committee}/{read}?period={period}", headers=api)
                assert answer.status_code == 200, (read, answer.text)
                assert flag(answer.json()) == said, (read, pending, answer.json())
            page = await web.get(f"/app/committees/{committee}?period={period}")
            assert page.status_code == 200 and 'data-state="no_data"' in page.text, page.text[-800:]
            assert (SAID in page.text, 'id="recalculating"' in page.text) == (said[0], said[0]), pending


async def test_the_report_csv_and_pdf_say_the_figures_are_being_updated(
    web: httpx.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every CSV row says it with the period's status (as every row says whether the period has ended), the PDF
    under its title with the figures, as the committee page says it above them; neither once the change is applied."""
    base = f"/app/committees/{world.root}"
    for pending in (0, 5):
        monkeypatch.setattr(world, "pending_tree_changes", pending)
        table = await web.get(f"{base}/report.csv?period={PERIOD}")
        assert table.status_code == 200, table.text[:300]
        header, *rows = list(csv.reader(io.StringIO(table.content.decode("utf-8-sig")), delimiter=";"))
        status = header.index("Trạng thái kỳ")
        assert rows and all(row[status] == ("đã kết thúc — s" + SAID[1:] if pending else "đã kết thúc") for row in rows)
        document = await web.get(f"{base}/report.pdf?period={PERIOD}")
        assert document.status_code == 200, document.text[:300]
        assert (SAID in pdf_text(document.content)) == bool(pending), pending
        page = await web.get(f"{base}?period={PERIOD}")
        assert page.status_code == 200 and (SAID in page.text) == bool(pending), pending


async def test_a_cells_half_year_pages_say_the_figures_are_being_updated(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cell's page (its half-year line among its quarters) and its half-year evidence read the half-year off the
    tree as evaluation last applied it (a cell re-dated, its span not applied yet): said as on the committee's page,
    and not once the change is applied."""
    year = str(datetime.now(VIETNAM_TZ).year)
    half = f"{year}-H1"
    line = {"cell_id": world.cell_a1, "period": half, "score": 80.5, "quarter_ratings": {f"{year}-Q1": "fair"}}
    monkeypatch.setitem(world.first_months, world.cell_a1, f"{int(year) - 1}-12")
    monkeypatch.setitem(world.half_years, (world.cell_a1, half), line | {"months_counted": 3, "months_gone": 3})
    cell = f"/app/cells/{world.cell_a1}"
    async with signed_in(client, amqp_url, database_url, "committee_officer", world.ward_a, None) as officer:
        for pending in (0, 2):
            monkeypatch.setattr(world, "pending_tree_changes", pending)
            page = await officer.get(cell, params={"year": year})
            assert page.status_code == 200 and f'data-half-year="{half}"' in page.text, page.text[-800:]
            assert (SAID in page.text) == bool(pending), ("cell page", pending)
            evidence = await officer.get(f"{cell}/evidence", params={"period": half})
            assert evidence.status_code == 200, evidence.text[-800:]
            assert (SAID in evidence.text) == bool(pending), ("evidence", pending)


async def test_an_empty_report_csv_says_the_figures_are_being_updated(
    world: World,
    app_and_state: tuple[object, GatewayState],
    amqp_url: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A committee whose cells are being moved in has no row in its CSV (`no_data`), where the flag was said: while
    the change waits the file has one row under its header saying why it is empty and, in the period's status
    column as every row of a report says it, that the figures are being updated; the header alone once applied."""
    committee, cell = random_id("xa-moi"), random_id("thon-moi")
    world.add_unit(committee, "Đảng ủy xã Mới", "committee", None)
    world.add_unit(cell, "Chi bộ thôn Mới", "cell", committee)
    world.without_data[committee] = "period"
    app, _ = app_and_state
    async with signed_in_web(app, "xa-moi", "committee_officer", committee, database_url, amqp_url) as web:
        for pending in (3, 0):
            monkeypatch.setattr(world, "pending_tree_changes", pending)
            table = await web.get(f"/app/committees/{committee}/report.csv")
            assert table.status_code == 200, table.text[:300]
            header, *rows = list(csv.reader(io.StringIO(table.content.decode("utf-8-sig")), delimiter=";"))
            if not pending:
                assert rows == [], rows
                continue
            assert len(rows) == 1 and len(rows[0]) == len(header), rows
            row = dict(zip(header, rows[0], strict=True))
            assert row["Mã chi bộ"] == "" and "chưa có dữ liệu" in row["Chi bộ"], row
            assert row["Trạng thái kỳ"] == "đã kết thúc — s" + SAID[1:], row
            assert row["Điểm"] == row["Xếp loại"] == "", row
