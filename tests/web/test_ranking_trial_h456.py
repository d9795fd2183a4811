"""A trial's committee officer on the ranking and committee pages: the ranking's pager went back to "earlier
meetings" on a list of cells, the month in progress ranked six cells without a score 1–6 by name, a period before the
data answered "no data yet" where the committee page names the span there is (a 404), and a half-year's weakest cells
were its rating-rule note as list item "1."."""

import re
from html import unescape
from pathlib import Path

import httpx
import pytest
from babel.messages.pofile import read_po

from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import MONTHS, PERIOD, RUNNING, signed_in

pytestmark = pytest.mark.e2e

WEB = Path(__file__).resolve().parents[2] / "services" / "gateway" / "web"
NOUNS = ("buổi", "chi bộ", "sự kiện", "dòng", "cảnh báo")
"""The Vietnamese nouns a pager's words name what it lists by (meetings, cells, events, rows, alerts)."""


def text_of(html: str) -> str:
    """The words of a piece of a page, its tags taken out."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def test_every_pagers_words_name_what_it_lists() -> None:
    """A pager's buttons (previous, next) name no kind of item its summary does not list (a ranking of cells went
    back to "Các buổi trước đó")."""
    with (WEB / "locale" / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    vi = {
        message.id: message.string
        for message in catalog
        if isinstance(message.id, str) and isinstance(message.string, str)
    }
    pagers = 0
    for template in (WEB / "templates").glob("*.html"):
        for nav in re.findall(r'<nav class="pager".*?</nav>', template.read_text(encoding="utf-8"), re.S):
            strings = re.findall(r'_\(["\']([^"\']+)["\']', nav)
            said = vi.get(strings[1], "") if len(strings) > 1 else ""
            for button in re.findall(r'rel="(?:prev|next)"[^>]*>\{\{ _\("([^"]+)"', nav):
                pagers += 1
                words = vi[button]
                assert words, (template.name, button)
                for noun in NOUNS:
                    assert noun not in words or noun in said, (template.name, button, words, said)
    assert pagers >= 5


async def test_the_rankings_back_button_names_cells(system: RunningSystem, api: httpx.AsyncClient) -> None:
    async with signed_in(system, "officer") as client:

        async def back() -> str | None:
            page = await client.get(f"/app/committees/demo-tinh-uy/ranking?period={PERIOD}&offset=3")
            assert page.status_code == 200, page.text[-2000:]
            found = re.search(r'<a class="button" rel="prev"[^>]*>(.*?)</a>', page.text, re.S)
            return text_of(found.group(1)) if found else None

        words = await eventually(back, timeout=120, interval=1)
    assert "buổi" not in words, words
    assert words == "Trang trước của bảng xếp hạng", words


async def test_the_month_in_progress_ranks_no_cell_without_a_score(
    system: RunningSystem, api: httpx.AsyncClient
) -> None:
    """The demo's cells have not met yet this month: the API gives them `not_met_yet` without a score, and the page
    lists them apart as not scored yet, with no rank."""

    async def settled() -> tuple[dict, str] | None:
        before = (await api.get(f"/v1/committees/demo-tinh-uy/ranking?period={RUNNING}")).json()
        page = await client.get(f"/app/committees/demo-tinh-uy/ranking?period={RUNNING}")
        after = (await api.get(f"/v1/committees/demo-tinh-uy/ranking?period={RUNNING}")).json()
        assert page.status_code == 200, page.text[-2000:]
        return (after, page.text) if before == after and after["items"] else None

    async with signed_in(system, "officer") as client:
        ranking, page = await eventually(settled, timeout=120, interval=1)
    unscored = [item["cell_id"] for item in ranking["items"] if item.get("score") is None]
    assert unscored and all(item.get("not_met_yet") for item in ranking["items"] if item.get("score") is None)
    ranked = [cell for cell, _ in re.findall(r'<tr data-cell="([^"]+)" data-rank="(\d+)">', page)]
    assert not set(ranked) & set(unscored), ranked
    assert ranked == [item["cell_id"] for item in ranking["items"] if item.get("score") is not None]
    apart = re.search(r'<section[^>]*id="unscored".*?</section>', page, re.S)
    assert apart is not None, page[-3000:]
    assert re.findall(r'data-cell="([^"]+)"', apart.group(0)) == unscored
    assert "chưa có điểm" in text_of(apart.group(0)).lower()
    if not ranked:
        assert "theo điểm, từ cao xuống thấp" not in text_of(page)


@pytest.mark.parametrize("period", ["2024", "before-quarter"])
async def test_a_ranking_before_the_data_is_the_committee_pages_404(
    system: RunningSystem, api: httpx.AsyncClient, period: str
) -> None:
    if period == "before-quarter":
        year, month = int(MONTHS[0][:4]), int(MONTHS[0][5:])
        quarter = (month - 1) // 3  # the quarter before the first month's
        period = f"{year - 1}-Q4" if quarter == 0 else f"{year}-Q{quarter}"
    async with signed_in(system, "officer") as client:
        committee = await client.get(f"/app/committees/demo-tinh-uy?period={period}")
        ranking = await client.get(f"/app/committees/demo-tinh-uy/ranking?period={period}")
    assert committee.status_code == 404, committee.text[-2000:]
    assert ranking.status_code == 404, ranking.text[-2000:]
    said = re.search(r"<main.*?</main>", committee.text, re.S)
    assert said is not None
    assert "có dữ liệu từ" in text_of(said.group(0))
    assert text_of(said.group(0)) in text_of(ranking.text)
    assert "chưa có dữ liệu nên chưa được đánh giá" not in ranking.text


async def test_a_half_years_weakest_cells_are_cells(system: RunningSystem, api: httpx.AsyncClient) -> None:
    """A half-year's weakest cells are those rated Average or Poor in one of its quarters (the API's ranking gives
    each cell's `quarter_ratings`); its rule note is no item of that list."""
    year = next(month[:4] for month in MONTHS if month.endswith("-01"))
    period = f"{year}-H1"

    async def settled() -> tuple[dict, str] | None:
        before = (await api.get(f"/v1/committees/demo-tinh-uy/ranking?period={period}&limit=200")).json()
        page = await client.get(f"/app/committees/demo-tinh-uy?period={period}")
        after = (await api.get(f"/v1/committees/demo-tinh-uy/ranking?period={period}&limit=200")).json()
        assert page.status_code == 200, page.text[-2000:]
        return (after, page.text) if before == after and after["items"] else None

    async with signed_in(system, "officer") as client:
        ranking, page = await eventually(settled, timeout=120, interval=1)
    card = re.search(r'<section class="card" aria-labelledby="weakest-title">.*?</section>', page, re.S)
    assert card is not None
    listed = re.search(r'<ol class="list" id="weakest">(.*?)</ol>', card.group(0), re.S)
    items = re.findall(r"<li(?: [^>]*)?>", listed.group(1)) if listed else []
    assert all("data-cell=" in item for item in items), items
    weak = {
        item["cell_id"]
        for item in ranking["items"]
        if {"poor", "average"} & set((item.get("quarter_ratings") or {}).values())
    }
    shown = set(re.findall(r'<li data-cell="([^"]+)"', listed.group(1))) if listed else set()
    if weak:
        assert shown and shown <= weak, (shown, weak)
    else:
        assert not shown
        assert 'id="weakest-none"' in card.group(0)
