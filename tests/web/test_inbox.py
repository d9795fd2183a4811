"""Notices are marked read from the inbox partial that the member's, the monitor's and the committee's pages share:
a small form per unread notice (with the session's CSRF token) posting to the web app, which marks it through the
API's own function and answers with a redirect back; the page then shows it read, as the API does."""

import re

import httpx
import pytest

from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import api_token, csrf_of, signed_in

pytestmark = pytest.mark.e2e


def unread_ids(html: str) -> list[str]:
    """The notices the page shows unread."""
    return re.findall(r'data-notification="([^"]+)" data-read="false"', html)


async def test_a_monitor_marks_a_notice_read_and_the_page_and_the_api_show_it(
    system: RunningSystem, api: httpx.AsyncClient
) -> None:
    token = await api_token(
        system, role="committee_officer", unit="demo-xa-hoa-binh", person="demo-xa-hoa-binh-uv1", sub="api-monitor"
    )
    headers = {"Authorization": f"Bearer {token}"}
    async with signed_in(system, "monitor") as client:

        async def some_unread() -> str | None:
            html = (await client.get("/app/monitoring")).text
            return html if unread_ids(html) else None

        html = await eventually(some_unread, timeout=120, interval=0.5)
        notice = unread_ids(html)[0]
        assert f'action="/app/me/inbox/{notice}/read"' in html and "Đánh dấu đã đọc" in html
        forged = await client.post(f"/app/me/inbox/{notice}/read", data={"csrf": "forged", "next": "/app/monitoring"})
        assert forged.status_code == 403

        marked = await client.post(
            f"/app/me/inbox/{notice}/read", data={"csrf": csrf_of(html), "next": "/app/monitoring"}
        )
        assert marked.status_code == 303 and marked.headers["location"] == "/app/monitoring#inbox-title"
        items = (await api.get("/v1/me/inbox?limit=200", headers=headers)).json()["items"]
        assert next(item for item in items if item["notification_id"] == notice)["read_at"]
        page = (await client.get("/app/monitoring")).text
        assert f'data-notification="{notice}" data-read="true"' in page and "Đã đọc lúc" in page
        assert notice not in unread_ids(page)

        # elsewhere than the app is no place to go back to; an unknown notice is the app's 404 page
        outside = await client.post(
            f"/app/me/inbox/{notice}/read", data={"csrf": csrf_of(html), "next": "https://example.org/"}
        )
        assert outside.status_code == 303 and outside.headers["location"] == "/app/me#inbox-title"
        missing = await client.post(
            "/app/me/inbox/00000000-0000-0000-0000-000000000000/read", data={"csrf": csrf_of(html)}
        )
        assert missing.status_code == 404 and "Không tìm thấy trang" in missing.text

    # another person's notice is the same 404, and stays unread for its owner
    async with signed_in(system, "member") as other:
        member_page = (await other.get("/app/me")).text
        assert "Hộp thư của tôi" in member_page
        foreign = await other.post(f"/app/me/inbox/{notice}/read", data={"csrf": csrf_of(member_page)})
        assert foreign.status_code == 404
