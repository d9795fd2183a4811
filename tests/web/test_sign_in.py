"""Sign-in with a password, the session cookie, CSRF on every form, sign-out, and pages behind sign-in."""

import asyncio
import re

import httpx
import pytest

from services.gateway.web.sessions import SESSION_COOKIE
from tests.support.system import RunningSystem
from tests.web.conftest import (
    PASSWORD,
    PERIOD,
    SIGN_IN_FIRST_DELAY,
    SIGN_IN_FREE_FAILURES,
    csrf_of,
    signed_in,
    web_account,
)

pytestmark = pytest.mark.e2e


async def test_a_page_without_a_session_sends_the_browser_to_sign_in(system: RunningSystem, province: dict) -> None:
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        response = await client.get(f"/app/committees/demo-tinh-uy?period={PERIOD}")
    assert response.status_code == 303
    assert response.headers["location"] == f"/app/sign-in?next=/app/committees/demo-tinh-uy%3Fperiod%3D{PERIOD}"


async def test_the_session_cookie_is_httponly_and_samesite(system: RunningSystem, province: dict) -> None:
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        csrf = csrf_of((await client.get("/app/sign-in")).text)
        response = await client.post(
            "/app/sign-in", data={"username": "officer", "password": PASSWORD, "csrf": csrf, "next": "/app/"}
        )
    assert response.status_code == 303
    cookie = next(value for key, value in response.headers.multi_items() if value.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/app" in cookie


async def test_a_wrong_password_is_refused_in_vietnamese(system: RunningSystem, province: dict) -> None:
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        csrf = csrf_of((await client.get("/app/sign-in")).text)
        response = await client.post(
            "/app/sign-in", data={"username": "officer", "password": "sai-mật-khẩu", "csrf": csrf}
        )
        unknown = await client.post(
            "/app/sign-in", data={"username": "không-có-ai", "password": PASSWORD, "csrf": csrf_of(response.text)}
        )
    assert response.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.text
    assert SESSION_COOKIE not in response.cookies
    assert unknown.status_code == 401


async def test_an_empty_field_is_named(system: RunningSystem, province: dict) -> None:
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        csrf = csrf_of((await client.get("/app/sign-in")).text)
        response = await client.post("/app/sign-in", data={"username": "officer", "password": "", "csrf": csrf})
    assert response.status_code == 422
    assert "Mật khẩu: không được để trống." in response.text


@pytest.mark.parametrize("username", ["can-bo-tinh%00", "%00", "officer%00"])
async def test_a_username_with_an_unstorable_character_is_refused_naming_the_field_not_a_500(
    system: RunningSystem, province: dict, username: str
) -> None:
    """A trial's `username=can-bo-tinh%00` answered 500 (PostgreSQL's text refused the throttle's key); no account is
    named so: the field is named, as every form names it, and no session opens."""
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        csrf = csrf_of((await client.get("/app/sign-in")).text)
        response = await client.post(
            "/app/sign-in",
            content=f"username={username}&password=x&csrf={csrf}".encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 422, response.text
    assert "Tên đăng nhập: có một ký tự không lưu được (U+0000); vui lòng nhập lại." in response.text
    assert SESSION_COOKIE not in response.cookies


async def test_sign_in_without_the_form_token_is_refused(system: RunningSystem, province: dict) -> None:
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        await client.get("/app/sign-in")
        response = await client.post(
            "/app/sign-in", data={"username": "officer", "password": PASSWORD, "csrf": "forged"}
        )
    assert response.status_code == 403
    assert SESSION_COOKIE not in response.cookies


async def test_sign_out_needs_the_form_token_and_ends_the_session(system: RunningSystem, province: dict) -> None:
    async with signed_in(system, "officer") as client:
        page = await client.get("/app/committees/demo-tinh-uy")
        assert page.status_code == 200
        forged = await client.post("/app/sign-out", data={"csrf": "forged"})
        assert forged.status_code == 403
        assert (await client.get("/app/committees/demo-tinh-uy")).status_code == 200
        cookie = client.cookies[SESSION_COOKIE]
        response = await client.post("/app/sign-out", data={"csrf": csrf_of(page.text)})
        assert response.status_code == 303
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, cookies={SESSION_COOKIE: cookie}) as old:
        # the old cookie is worthless: the session is gone on the server too
        assert (await old.get("/app/committees/demo-tinh-uy")).status_code == 303


async def test_an_open_redirect_is_not_followed(system: RunningSystem, province: dict) -> None:
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        csrf = csrf_of((await client.get("/app/sign-in")).text)
        response = await client.post(
            "/app/sign-in",
            data={"username": "officer", "password": PASSWORD, "csrf": csrf, "next": "//evil.example/app/"},
        )
    assert response.headers["location"] == "/app/"


async def _try(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    csrf = csrf_of((await client.get("/app/sign-in")).text)
    return await client.post(
        "/app/sign-in", data={"username": username, "password": password, "csrf": csrf, "next": "/app/"}
    )


THROTTLED = re.compile(
    r"Có quá nhiều lần đăng nhập không thành công\. Đồng chí vui lòng chờ khoảng ([1-4]) giây rồi thử lại\."
)
"""The 429 page's words for a wait of the web tests' first delay (4 seconds at most: said in seconds)."""


async def test_too_many_failed_sign_ins_of_one_name_from_one_address_are_refused_with_429_until_the_delay_passes(
    system: RunningSystem, province: dict
) -> None:
    await web_account(system, "throttled", "member", "demo-cb-thon-1", "demo-cb-thon-1-dv05")
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        for _ in range(SIGN_IN_FREE_FAILURES):
            assert (await _try(client, "throttled", "sai-mật-khẩu")).status_code == 401
            assert (await _try(client, "không-có-ai-cả", "sai-mật-khẩu")).status_code == 401
        # the right password too is refused now, in Vietnamese, with when to come back
        blocked = await _try(client, "throttled", PASSWORD)
        assert blocked.status_code == 429
        said = THROTTLED.search(blocked.text)
        assert said is not None, blocked.text
        assert SESSION_COOKIE not in blocked.cookies
        wait = int(blocked.headers["Retry-After"])
        assert 1 <= wait <= SIGN_IN_FIRST_DELAY and said.group(1) == str(wait)
        # a name nobody has is throttled the same way: the answer does not tell who exists
        unknown = await _try(client, "không-có-ai-cả", PASSWORD)
        assert unknown.status_code == 429
        assert THROTTLED.search(unknown.text) and "Retry-After" in unknown.headers
        # another account from the same address still signs in
        assert (await _try(client, "officer", PASSWORD)).status_code == 303
    await asyncio.sleep(wait + 0.5)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        assert (await _try(client, "throttled", PASSWORD)).status_code == 303


async def test_a_password_change_ends_the_accounts_sessions(system: RunningSystem, province: dict) -> None:
    await web_account(system, "changing", "member", "demo-cb-thon-1", "demo-cb-thon-1-dv05")
    new_password = "mật-khẩu-mới-2026"
    async with signed_in(system, "changing") as client:
        assert (await client.get("/app/me")).status_code == 200
        # the gateway's own `web-account --password` code
        await web_account(
            system, "changing", "member", "demo-cb-thon-1", "demo-cb-thon-1-dv05", password_text=new_password
        )
        stale = await client.get("/app/me")
        assert stale.status_code == 303
        assert stale.headers["location"].startswith("/app/sign-in")
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        assert (await _try(client, "changing", PASSWORD)).status_code == 401
        fresh = await _try(client, "changing", new_password)
        assert fresh.status_code == 303
        assert (await client.get("/app/me")).status_code == 200


async def test_a_username_typed_in_another_case_signs_in_to_its_account_unless_two_differ_in_case_alone(
    system: RunningSystem, province: dict
) -> None:
    """A trial (trial 42) found the username case-sensitive while surrounding spaces were ignored: accounts are created
    as given (the demo's in lower case), so a name typed with capitals is the account's, the session its own; two
    accounts differing only in case are told apart by their exact names, never guessed between."""
    await web_account(system, "Cap-Member", "member", "demo-cb-thon-1", "demo-cb-thon-1-dv05")
    await web_account(system, "twin-member", "member", "demo-cb-thon-1", "demo-cb-thon-1-dv05")
    await web_account(system, "Twin-Member", "member", "demo-cb-thon-1", "demo-cb-thon-1-dv05")
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        answers = {}
        for typed in (" Member ", "MEMBER", "cap-member", "TWIN-MEMBER", "Twin-Member"):
            client.cookies.clear()
            csrf = csrf_of((await client.get("/app/sign-in")).text)
            answer = await client.post(
                "/app/sign-in", data={"username": typed, "password": PASSWORD, "csrf": csrf, "next": "/app/"}
            )
            answers[typed] = answer.status_code
            if answer.status_code == 303:
                assert (await client.get("/app/me")).status_code == 200
    assert answers == {" Member ": 303, "MEMBER": 303, "cap-member": 303, "TWIN-MEMBER": 401, "Twin-Member": 303}
