"""Pages show the API's figures, only within the viewer's subtree, in Vietnamese, with no asset from elsewhere."""

import re

import httpx
import pytest

from services.gateway.web.i18n import format_number, format_share
from tests.support.system import RunningSystem
from tests.web.conftest import PERIOD, figure, signed_in

pytestmark = pytest.mark.e2e


async def test_the_overview_shows_the_rollup_of_the_api(system: RunningSystem, api: httpx.AsyncClient) -> None:
    rollup = (await api.get(f"/v1/committees/demo-tinh-uy/rollup?period={PERIOD}")).json()
    async with signed_in(system, "officer") as client:
        page = (await client.get(f"/app/committees/demo-tinh-uy?period={PERIOD}")).text
    assert figure(page, "cells") == str(rollup["cells"])
    assert figure(page, "score") == format_number(rollup["score"])
    for name in ("regularity", "attendance_rate", "speaking_rate", "thematic_coverage"):
        assert figure(page, name) == format_share(rollup[name]), name
    for rating, count in rollup["by_rating"].items():
        assert f'data-rating-count="{rating}">{count}<' in page
    for cell in rollup["weakest"]:
        assert f'data-cell="{cell["cell_id"]}"' in page


async def test_every_page_declares_vietnamese_and_loads_nothing_from_elsewhere(
    system: RunningSystem, api: httpx.AsyncClient
) -> None:
    async with signed_in(system, "officer") as client:
        pages = [
            (await client.get(path)).text
            for path in (
                "/app/committees/demo-tinh-uy",
                "/app/cells/demo-cb-thon-2",
                "/app/meetings/demo-cb-thon-2-2026-11",
                "/app/sign-in",
            )
        ]
        docs = (await client.get("/docs")).text
        for asset in re.findall(r'(?:src|href)="(/app/(?:static|vendor)/[^"]+)"', "".join(pages) + docs):
            assert (await client.get(asset)).status_code == 200, asset
    for html in pages:
        assert '<html lang="vi">' in html
        assert not re.search(r'(?:src|href)="(?:https?:)?//', html)
    assert "/app/vendor/swagger-ui/swagger-ui-bundle.js" in docs
    assert "cdn" not in docs.lower()


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("commune-officer", "/app/committees/demo-phuong-an-phu"),
        ("commune-officer", "/app/committees/demo-tinh-uy"),
        ("commune-officer", "/app/cells/demo-cb-kp-3"),
        ("commune-officer", "/app/meetings/demo-cb-kp-3-2026-11"),
        ("secretary", "/app/cells/demo-cb-thon-2"),
        ("secretary", "/app/meetings/demo-cb-thon-2-2026-11"),
        ("secretary", "/app/committees/demo-xa-hoa-binh"),
        ("member", "/app/committees/demo-xa-hoa-binh"),
        ("officer", "/app/committees/no-such-committee"),
        ("officer", "/app/cells/demo-xa-hoa-binh"),
        ("officer", "/app/committees/demo-tinh-uy?period=2026-13"),
    ],
)
async def test_a_page_outside_the_viewers_subtree_answers_404(
    system: RunningSystem, api: httpx.AsyncClient, who: str, path: str
) -> None:
    async with signed_in(system, who) as client:
        response = await client.get(path)
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.text


async def test_the_meeting_page_explains_every_criterion_in_vietnamese(
    system: RunningSystem, api: httpx.AsyncClient
) -> None:
    score = (await api.get("/v1/meetings/demo-cb-thon-2-2026-11/score")).json()
    async with signed_in(system, "commune-officer") as client:
        page = (await client.get("/app/meetings/demo-cb-thon-2-2026-11")).text
    assert f'id="meeting-score">{format_number(score["score"])}<' in page
    for line in score["criteria"]:
        assert f'data-code="{line["code"]}"' in page
    # evaluation's English reasons are not shown; their Vietnamese rendering is
    for line in score["criteria"]:
        assert line["reason"] not in page
    assert "đảng viên có mặt" in page
