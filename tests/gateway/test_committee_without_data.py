"""A committee that exists but has no data yet (no cell period scored up to the period's end: a committee just
loaded, or evaluation not told of it yet) reads the same everywhere, over the fakes: its page said "Chưa có dữ liệu"
with 200 while the API's roll-up, ranking and weakest cells and the report CSV and PDF answered 404 (a trial).
Now the API answers 200 with an empty roll-up (`no_data`, counts 0, rates null), an empty ranking and no weakest
cell, the CSV its header alone and the PDF "Chưa có dữ liệu"; a committee that does not exist, or lies outside the
caller's scope, keeps the same 404 (nothing said of whether it exists), and a role that may not read roll-ups 403."""

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from pypdf import PdfReader

from services.gateway.bootstrap import GatewayState
from shared.envelope import now
from shared.periods import month_of, previous_period
from tests.gateway.conftest import TokenFactory
from tests.gateway.fakes import World
from tests.support.ids import random_id
from tests.support.web import signed_in_web

READS = ("rollup", "ranking", "weakest")


@dataclass
class Fresh:
    """A committee with one cell, just loaded: evaluation has no data for it (World.without_data)."""

    committee: str
    cell: str
    period: str
    api: dict[str, str]
    """The Authorization header of an officer of the committee."""


@pytest.fixture(params=["period", "committee_id"])
async def fresh(request: pytest.FixtureRequest, world: World, token_for: TokenFactory) -> Fresh:
    """Evaluation answers not_found naming `period` (no cell scored yet) or `committee_id` (not heard of it yet)."""
    committee, cell = random_id("xa-moi"), random_id("thon-moi")
    world.add_unit(committee, "Đảng ủy xã Mới", "committee", None)
    world.add_unit(cell, "Chi bộ thôn Mới", "cell", committee)
    world.without_data[committee] = request.param
    api = await token_for("committee_officer", committee, random_id("per"))
    return Fresh(committee=committee, cell=cell, period=previous_period(month_of(now())), api=api)


@pytest.fixture
async def web(
    app_and_state: tuple[object, GatewayState], fresh: Fresh, amqp_url: str, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser of its own, signed in as an officer of the new committee."""
    app, _ = app_and_state
    async with signed_in_web(app, "xa-moi", "committee_officer", fresh.committee, database_url, amqp_url) as client:
        yield client


async def test_a_committee_without_data_answers_an_empty_rollup_ranking_and_weakest(
    client: httpx.AsyncClient, fresh: Fresh
) -> None:
    base = f"/v1/committees/{fresh.committee}"
    rollup = await client.get(f"{base}/rollup?period={fresh.period}", headers=fresh.api)
    assert rollup.status_code == 200, rollup.text
    body = rollup.json()
    assert (body["committee_id"], body["period"], body["no_data"]) == (fresh.committee, fresh.period, True)
    assert body["cells"] == 0 and body["by_rating"] == {"good": 0, "fair": 0, "average": 0, "poor": 0}
    for figure in ("regularity", "attendance_rate", "speaking_rate", "thematic_coverage", "score", "trend"):
        assert body[figure] is None, figure
    assert body["weakest"] == [] and body["in_progress"] is False
    ranking = await client.get(f"{base}/ranking?period={fresh.period}&limit=20&offset=0", headers=fresh.api)
    assert ranking.status_code == 200, ranking.text
    # no org-tree change waiting (tests/gateway/test_recalculating_reads.py: the flag kept while one does)
    settled = {"recalculating": False, "pending_tree_changes": 0}
    assert ranking.json() == {"items": [], "total": 0, "limit": 20, "offset": 0, **settled}
    weakest = await client.get(f"{base}/weakest?period={fresh.period}", headers=fresh.api)
    assert weakest.status_code == 200, weakest.text
    assert weakest.json() == {"committee_id": fresh.committee, "period": fresh.period, "items": [], **settled}


async def test_a_committee_with_data_says_no_data_false(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    rollup = await client.get(f"/v1/committees/{world.root}/rollup?period=2026-10", headers=headers["province_officer"])
    assert rollup.status_code == 200 and rollup.json()["no_data"] is False, rollup.text


async def test_a_missing_or_unseen_committee_keeps_its_404_and_a_role_without_roll_ups_its_403(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], fresh: Fresh, world: World
) -> None:
    """Outside the caller's scope is the very 404 of a committee that does not exist (its existence not leaked),
    whether or not it has data; a secretary may read no roll-up at all."""
    missing = random_id("xa-khong-co")
    for read in READS:
        nowhere = await client.get(f"/v1/committees/{missing}/{read}?period={fresh.period}", headers=fresh.api)
        assert nowhere.status_code == 404, (read, nowhere.text)
        for committee in (world.root, world.ward_a):  # with data, outside the new committee's officer's scope
            outside = await client.get(f"/v1/committees/{committee}/{read}?period={fresh.period}", headers=fresh.api)
            assert outside.status_code == 404, (read, outside.text)
            assert outside.json() == nowhere.json() | {"message": outside.json()["message"]}
            assert missing not in outside.json()["message"] and committee in outside.json()["message"]
        # a ward's officer looks at the new committee, which has no data: not 200 empty, the same 404
        unseen = await client.get(
            f"/v1/committees/{fresh.committee}/{read}?period={fresh.period}", headers=headers["ward_officer"]
        )
        assert unseen.status_code == 404, (read, unseen.text)
        assert unseen.json() == nowhere.json() | {"message": unseen.json()["message"]}
        secretary = await client.get(
            f"/v1/committees/{fresh.committee}/{read}?period={fresh.period}", headers=headers["secretary"]
        )
        assert secretary.status_code == 403, (read, secretary.text)


async def test_the_page_csv_and_pdf_of_a_committee_without_data_say_chua_co_du_lieu(
    web: httpx.AsyncClient, fresh: Fresh
) -> None:
    base = f"/app/committees/{fresh.committee}"
    # opened without a period (the month last ended, fresh.period) or with it in the address: said so with 200, as
    # the API's roll-up answers `no_data` (a committee without any data yet has no span a period lies before: h243)
    page = await web.get(base)
    assert page.status_code == 200 and 'data-state="no_data"' in page.text and "Chưa có dữ liệu" in page.text
    asked = await web.get(f"{base}?period={fresh.period}")
    assert asked.status_code == 200 and 'data-state="no_data"' in asked.text, asked.text[-800:]
    for path in ("/report.csv", "/report.pdf"):
        asked = await web.get(f"{base}{path}?period={fresh.period}")
        assert asked.status_code == 200, (path, asked.text[-800:])
    table = await web.get(f"{base}/report.csv")
    assert table.status_code == 200, table.text[:300]
    assert table.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(table.content.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 1 and rows[0][:4] == ["Mã chi bộ", "Chi bộ", "Điểm", "Xếp loại"], rows
    document = await web.get(f"{base}/report.pdf")
    assert document.status_code == 200 and document.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(document.content)).pages)
    assert "Chưa có dữ liệu" in text and "đơn vị này chưa có dữ liệu nên chưa được đánh giá" in text, text
    assert "Đảng ủy xã Mới" in text and "Kém" not in text, text


async def test_the_csv_and_pdf_of_a_missing_or_unseen_committee_stay_404(
    web: httpx.AsyncClient, fresh: Fresh, world: World
) -> None:
    for committee in (random_id("xa-khong-co"), world.root):
        for path in ("", "/report.csv", "/report.pdf"):
            answer = await web.get(f"/app/committees/{committee}{path}?period={fresh.period}")
            assert answer.status_code == 404, (committee, path, answer.text[:300])
            assert "Không tìm thấy trang" in answer.text, (committee, path)
