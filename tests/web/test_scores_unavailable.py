"""With the evaluation service down, the pages whose facts come from the meetings service still answer (200) with a
short Vietnamese note in place of the scores, instead of "Hệ thống đang bận" (503) after the timeout; one unanswered
call to evaluation is enough for the rest of the page, so a page waits one timeout, not one for each section."""

import time

import pytest

from tests.support.system import RunningSystem
from tests.web.conftest import PERIOD, signed_in

pytestmark = pytest.mark.e2e

NOTE = "Điểm đánh giá tạm thời chưa hiển thị được"
PAGES = {
    # the secretary's first page, and a held meeting's page
    "secretary": ["/app/cells/demo-cb-thon-1", f"/app/meetings/demo-cb-thon-1-{PERIOD}"],
    "commune-officer": ["/app/committees/demo-xa-hoa-binh"],
    "officer": [f"/app/committees/demo-tinh-uy?period={PERIOD}"],
    "monitor": ["/app/monitoring"],
}


async def test_pages_show_the_meetings_with_a_note_while_evaluation_is_down(
    system: RunningSystem, province: dict[str, str]
) -> None:
    timeout = float(system.env.get("CHIBO_RPC_TIMEOUT") or 5)
    system.stop("evaluation")
    try:
        for who, paths in PAGES.items():
            async with signed_in(system, who) as client:
                for path in paths:
                    started = time.monotonic()
                    page = await client.get(path)
                    took = time.monotonic() - started
                    assert page.status_code == 200, (path, page.text[-800:])
                    assert NOTE in page.text and 'id="scores-unavailable"' in page.text, path
                    assert "Hệ thống đang bận" not in page.text, path
                    # a second unanswered call would add a second timeout
                    assert took < 2 * timeout, (path, took)
                    if path == "/app/cells/demo-cb-thon-1":
                        assert f'href="/app/meetings/demo-cb-thon-1-{PERIOD}"' in page.text  # the meetings listed
                        assert 'id="ratings-unavailable"' in page.text
                    if path.startswith("/app/meetings/"):
                        assert 'id="score-unavailable"' in page.text and 'id="minutes-title"' in page.text
                        assert 'id="not-scored"' not in page.text  # not "not scored yet": it is scored, not shown
                    if path.startswith("/app/committees/"):
                        assert 'id="children"' in page.text and 'data-figure="score"' not in page.text
                    if path == "/app/monitoring":
                        assert 'data-meeting="' in page.text  # the meetings held, from the meetings service
    finally:
        system.start("evaluation")
    async with signed_in(system, "secretary") as client:
        page = await client.get("/app/cells/demo-cb-thon-1")
    assert page.status_code == 200 and NOTE not in page.text and 'id="rating-strip"' in page.text
