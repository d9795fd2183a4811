"""Sign-in through the province's OpenID Connect provider, in Chromium against a real provider
(panva/node-oidc-provider, tests/web/oidc/provider.js): the authorization-code flow with PKCE, state and nonce;
the account linked to the provider's subject, or to its verified e-mail address, is signed in; anybody else gets
a Vietnamese refusal and no session."""

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.async_api import Browser, Page

from tests.support.system import RunningSystem
from tests.web.conftest import OIDC_NAME, cell_members, screenshot, web_account

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def linked_accounts(system: RunningSystem, province: dict[str, str]) -> None:
    """Accounts linked to the provider: the secretary by subject, a province officer by e-mail address, and a
    secretary account of a person who no longer holds the post by subject."""
    await web_account(
        system,
        "oidc-bi-thu",
        "secretary",
        "demo-cb-thon-1",
        "demo-cb-thon-1-dv01",
        oidc_subject="sub-bi-thu-thon-1",
        password=False,
    )
    await web_account(
        system, "oidc-can-bo-tinh", "committee_officer", "demo-tinh-uy", None, oidc_email="can.bo.tinh@demo.vn"
    )
    # a secretary account of a plain member (demo-cb-thon-1-dv05): recorded while they held the post, since left
    await web_account(
        system,
        "oidc-bi-thu-cu",
        "secretary",
        "demo-cb-thon-1",
        "demo-cb-thon-1-dv05",
        oidc_subject="sub-bi-thu-cu",
        password=False,
        checked=False,
    )


async def through_provider(browser: Browser, system: RunningSystem, login: str, start: str) -> tuple[Page, str]:
    """Open `start`, take the provider's button, sign in there as `login` and consent; the page and the URL of the
    authorization request the gateway sent the browser to."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    context.set_default_timeout(90_000)
    page = await context.new_page()
    authorization: list[str] = []
    page.on("request", lambda request: authorization.append(request.url) if "/auth?" in request.url else None)
    await page.goto(system.gateway_url + start)
    await screenshot(page, "sign-in-oidc")
    await page.get_by_role("link", name=f"Đăng nhập qua {OIDC_NAME}").click()
    await page.locator('input[name="login"], #error').first.wait_for()
    assert await page.locator("#error").count() == 0, await page.content()
    await page.locator('input[name="login"]').fill(login)
    await page.locator('input[name="password"]').fill("mật khẩu ở cổng định danh")
    await page.get_by_role("button", name="Sign-in").click()
    await page.get_by_role("button", name="Continue").click()
    await page.wait_for_url(f"{system.gateway_url}/app/**")
    return page, authorization[0]


async def test_the_account_linked_to_the_subject_signs_in_with_pkce_state_and_nonce(
    browser: Browser, system: RunningSystem, province: dict[str, str], oidc_provider: str, linked_accounts: None
) -> None:
    page, authorization = await through_provider(browser, system, "sub-bi-thu-thon-1", "/app/cells/demo-cb-thon-1")
    await page.wait_for_url("**/app/cells/demo-cb-thon-1")
    # the header names the account's person (demo-cb-thon-1-dv01), not the sign-in name
    [name] = [
        m["full_name"]
        for m in await cell_members(system, province, "demo-cb-thon-1")
        if m["id"] == "demo-cb-thon-1-dv01"
    ]
    assert await page.locator(".who").inner_text() == name
    assert "Chi bộ thôn 1" in await page.get_by_role("heading", level=1).inner_text()
    query = parse_qs(urlsplit(authorization).query)
    assert authorization.startswith(oidc_provider + "/auth?")
    assert query["response_type"] == ["code"] and query["client_id"] == ["chibo-gateway"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert len(query["state"][0]) >= 20 and len(query["nonce"][0]) >= 20
    assert "openid" in query["scope"][0].split()
    cookies = {cookie["name"]: cookie for cookie in await page.context.cookies()}
    session = cookies["chibo_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax" and session["path"] == "/app"
    assert "chibo_oidc" not in cookies  # the flow's cookie is gone once used

    # out of scope stays out of scope: the secretary's session sees another cell as a missing page
    response = await page.goto(system.gateway_url + "/app/cells/demo-cb-thon-2")
    assert response is not None and response.status == 404
    # signing out works as for a password
    await page.goto(system.gateway_url + "/app/cells/demo-cb-thon-1")
    await page.get_by_role("button", name="Đăng xuất").click()
    await page.wait_for_url("**/app/sign-in")
    await page.context.close()


async def test_a_verified_email_linked_to_an_account_signs_it_in(
    browser: Browser, system: RunningSystem, oidc_provider: str, linked_accounts: None
) -> None:
    page, _ = await through_provider(browser, system, "sub-can-bo-tinh-2", "/app/")
    await page.wait_for_url("**/app/committees/demo-tinh-uy")
    assert await page.locator(".who").inner_text() == "oidc-can-bo-tinh"
    await page.context.close()


@pytest.mark.parametrize("login", ["sub-nguoi-la", "sub-gia-mao"])
async def test_people_not_linked_get_a_vietnamese_refusal_and_no_session(
    browser: Browser, system: RunningSystem, oidc_provider: str, linked_accounts: None, login: str
) -> None:
    page, _ = await through_provider(browser, system, login, "/app/")
    await page.wait_for_url("**/app/sign-in/oidc/callback?**")
    refusal = await page.get_by_role("alert").inner_text()
    assert refusal == (
        f"Tài khoản của đồng chí tại {OIDC_NAME} chưa được gắn với người dùng nào của hệ thống. "
        "Đề nghị liên hệ văn phòng cấp ủy để được gắn tài khoản."
    )
    assert "chibo_session" not in {cookie["name"] for cookie in await page.context.cookies()}
    await screenshot(page, "sign-in-oidc-refused")
    await page.goto(system.gateway_url + "/app/")
    await page.wait_for_url("**/app/sign-in?next=**")
    await page.context.close()


async def test_a_callback_that_no_browser_started_is_refused(system: RunningSystem, oidc_provider: str) -> None:
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        page = await client.get("/app/sign-in")
        assert f"Đăng nhập qua {OIDC_NAME}" in page.text
        start = await client.get("/app/sign-in/oidc?next=/app/")
        assert start.status_code == 302 and start.headers["location"].startswith(oidc_provider + "/auth?")
        state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    # another browser (no flow cookie) presenting the state and any code
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as stranger:
        answer = await stranger.get(f"/app/sign-in/oidc/callback?state={state}&code=forged")
        assert answer.status_code == 403
        assert "Phiên đăng nhập đã hết hạn. Vui lòng đăng nhập lại từ đầu." in answer.text
        assert "chibo_session" not in stranger.cookies


async def test_a_linked_account_whose_person_left_the_post_is_refused_saying_why_and_no_session(
    browser: Browser, system: RunningSystem, oidc_provider: str, linked_accounts: None
) -> None:
    page, _ = await through_provider(browser, system, "sub-bi-thu-cu", "/app/")
    await page.wait_for_url("**/app/sign-in/oidc/callback?**")
    refusal = await page.get_by_role("alert").inner_text()
    assert refusal == (
        "Không đăng nhập được: tài khoản này không còn dùng được vì đồng chí không còn giữ chức bí thư hoặc phó bí thư"
        " chi bộ. Đề nghị đồng chí liên hệ văn phòng cấp ủy để được cấp tài khoản phù hợp với chức vụ hiện nay."
    )
    assert "chibo_session" not in {cookie["name"] for cookie in await page.context.cookies()}
    await page.context.close()
