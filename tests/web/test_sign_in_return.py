"""A user trial: the schedule form sent once the session had ended (signed out in another tab) sent the browser to
sign in with `next` the form's POST-only address, so signing in landed on "Không thể dùng trang này theo cách đó".
A form sent without a session returns, once signed in, to the page the form lives on: every POST form of the app."""

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from services.gateway.web import install_web
from services.gateway.web.sessions import SESSION_COOKIE
from tests.support.system import RunningSystem
from tests.web.conftest import PASSWORD, csrf_of, signed_in

pytestmark = pytest.mark.e2e

CELL = "demo-cb-thon-1"


def next_of(response: httpx.Response) -> str:
    """The `next` of a redirect to the sign-in page (AssertionError for another answer)."""
    assert response.status_code == 303, response.text[-500:]
    location = urlsplit(response.headers["location"])
    assert location.path == "/app/sign-in", response.headers["location"]
    return parse_qs(location.query)["next"][0]


async def test_the_schedule_form_sent_after_sign_out_returns_to_its_page_once_signed_in(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """Signed out in another tab (the session ended on the server), the form still open in this one."""
    form_page = f"/app/cells/{CELL}/meetings/new"
    async with signed_in(system, "secretary") as client:
        page = await client.get(form_page)
        assert page.status_code == 200, page.text[-500:]
        cookie = client.cookies[SESSION_COOKIE]
        assert (await client.post("/app/sign-out", data={"csrf": csrf_of(page.text)})).status_code == 303
    typed = {"csrf": csrf_of(page.text), "location": "Nhà văn hóa thôn 1", "agenda": "Kiểm điểm"}
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, cookies={SESSION_COOKIE: cookie}) as tab:
        sent = await tab.post(
            f"/app/cells/{CELL}/meetings", data=typed, headers={"Referer": f"{system.gateway_url}{form_page}"}
        )
        target = next_of(sent)
        assert target == form_page
        # without a Referer (stripped by the browser), the nearest page above the form's address
        assert next_of(await tab.post(f"/app/cells/{CELL}/meetings", data=typed)) == f"/app/cells/{CELL}"
        # a Referer of another site, or of a page the app does not have, is not followed
        elsewhere = {"Referer": f"https://evil.example{form_page}"}
        assert next_of(await tab.post(f"/app/cells/{CELL}/meetings", data=typed, headers=elsewhere)) != form_page
        tab.cookies.clear()
        sign_in = await tab.get("/app/sign-in", params={"next": target})
        signed = await tab.post(
            "/app/sign-in",
            data={"username": "secretary", "password": PASSWORD, "csrf": csrf_of(sign_in.text), "next": target},
        )
        assert signed.status_code == 303 and signed.headers["location"] == form_page, signed.headers
        back = await tab.get(form_page)
        assert back.status_code == 200, back.text[-500:]
        assert re.search(rf'<form[^>]*method="post"[^>]*action="/app/cells/{CELL}/meetings"', back.text), back.text


async def test_every_form_sent_without_a_session_returns_to_a_page_that_opens(system: RunningSystem) -> None:
    """Every POST route of the web app, its ids filled in: the sign-in's `next` is an address a GET answers (a page
    or its 404 for an unknown id), never the POST-only address's "cannot be used this way" (405)."""
    app = FastAPI()
    install_web(app)
    # the routers install_web includes (held as included branches), and any route of its own
    routes = [
        route
        for branch in app.router.routes
        for route in (branch.original_router.routes if hasattr(branch, "original_router") else [branch])
    ]
    posts = [
        route.path
        for route in routes
        if isinstance(route, APIRoute)
        and "POST" in (route.methods or set())
        and route.path.startswith("/app/")
        and route.path != "/app/sign-in"  # the one form sent without a session
    ]
    assert len(posts) > 10, posts
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as browser:
        for path in posts:
            address = re.sub(r"\{[^}]+\}", "x1", path)
            target = next_of(await browser.post(address, data={"csrf": "old"}))
            assert target.startswith("/app/"), (path, target)
            opened = await browser.get(target)
            assert opened.status_code != 405, (path, target)
            assert (await browser.get(target)).status_code in (200, 303, 404), (path, target)
