"""Every error answer under /app is a Vietnamese page (the app's error page), whoever answers it: an address no route
has, a method a page does not take, a body over the limit, a failure of the gateway; /v1 keeps its JSON errors.

The user trial: `GET /app/cells/x/meetings` answered a 405 in English JSON, `/app/cells/a%2F..%2Fb` a 404 in JSON."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from services.gateway.main import create_app
from tests.gateway.conftest import gateway_settings
from tests.gateway.fakes import FakeServices

NOT_FOUND = "Không tìm thấy trang"


def is_page(response: httpx.Response) -> bool:
    """Whether the answer is one of the app's HTML pages, in Vietnamese."""
    return response.headers["content-type"].startswith("text/html") and '<html lang="vi"' in response.text


@pytest.mark.parametrize(
    ("method", "path", "status", "says"),
    [
        ("GET", "/app/cells/x/meetings", 405, "Không thể dùng trang này theo cách đó"),
        ("DELETE", "/app/sign-in", 405, "Không thể dùng trang này theo cách đó"),
        ("GET", "/app/cells/a%2F..%2Fb", 404, NOT_FOUND),
        ("GET", "/app/no-such-page", 404, NOT_FOUND),
        ("GET", "/app/static/no-such-file.css", 404, NOT_FOUND),
    ],
)
async def test_an_error_under_app_is_a_vietnamese_page(
    client: httpx.AsyncClient, method: str, path: str, status: int, says: str
) -> None:
    answer = await client.request(method, path)
    assert answer.status_code == status, answer.text
    assert is_page(answer) and says in answer.text, answer.text
    if status == 405:
        assert answer.headers["allow"]


async def test_a_json_body_to_a_page_is_refused_with_a_vietnamese_page(client: httpx.AsyncClient) -> None:
    sent = await client.post(
        "/app/cells/x/meetings", content='{"hours": NaN}', headers={"Content-Type": "application/json"}
    )
    assert sent.status_code == 422 and sent.headers["content-type"].startswith("text/html"), sent.text
    assert "Yêu cầu không hợp lệ" in sent.text


@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/v1/no-such-route", 404), ("DELETE", "/v1/me/preferences", 405)]
)
async def test_the_api_keeps_its_json_errors(client: httpx.AsyncClient, method: str, path: str, status: int) -> None:
    answer = await client.request(method, path)
    assert answer.status_code == status and answer.headers["content-type"] == "application/json", answer.text
    assert answer.json()["code"] in ("not_found", "method_not_allowed")


@pytest.fixture
async def small_app(amqp_url: str, database_url: str, fakes: FakeServices) -> AsyncIterator[FastAPI]:
    """A gateway taking bodies of at most 2 KiB, with a page route that fails."""
    app = create_app(gateway_settings(amqp_url, database_url, max_body_bytes=2048))

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/app/zz-broken", broken, methods=["GET"])
    app.add_api_route("/v1/zz-broken", broken, methods=["GET"])
    async with app.router.lifespan_context(app):
        yield app


async def test_a_body_too_large_and_a_failure_under_app_are_pages(small_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=small_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
        form = {"csrf": "x", "topic": "x" * 4000}
        too_large = await http.post("/app/cells/x/meetings", data=form)
        assert too_large.status_code == 413 and is_page(too_large), too_large.text
        assert "Nội dung gửi lên quá lớn" in too_large.text

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: judged as it streams in
            for _ in range(10):
                yield b" " * 500

        streamed = await http.post(
            "/app/cells/x/meetings", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413 and is_page(streamed), streamed.text
        failed = await http.get("/app/zz-broken")
        assert failed.status_code == 500 and is_page(failed) and "Đã có lỗi xảy ra" in failed.text
        api = await http.get("/v1/zz-broken")
        assert api.status_code == 500 and api.json()["code"] == "internal"
        api_large = await http.put("/v1/me/preferences", json={"x": "x" * 4000})
        assert api_large.status_code == 413 and api_large.json()["code"] == "payload_too_large"
