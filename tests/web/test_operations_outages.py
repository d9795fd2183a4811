"""The operator's page names what does not answer (a service, its database, the broker) in a Vietnamese banner over
the rest of the page, drawn from what answers: with one dependency down it showed the whole outage page (a failure
the overview raised) or only a dash beside a figure. Rendered without a running system."""

import html
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest
from starlette.requests import Request

from services.gateway.auth import Role
from services.gateway.http import operations as operations_api
from services.gateway.http import recovery
from services.gateway.web.pages import operations
from shared.rpc import RpcError
from tests.web.operations_render import operations_html


def banner(page: str) -> str:
    """The text of the page's banner of what does not answer ("" when it has none)."""
    if 'id="outages"' not in page:
        return ""
    return html.unescape(page.split('id="outages">', 1)[1].split("</p>", 1)[0])


def service(status: str, *attention: str, database: str | None = None) -> dict[str, Any]:
    """A service of the overview with one process reporting `attention` lines and its `database` figure."""
    instance = {
        "instance": "i-1",
        "state": "reporting",
        "pid": 1,
        "host": "h",
        "started_at": "2026-12-02T00:00:00+00:00",
        "seconds_since_report": 1.0,
        "status": "degraded",
        "attention": list(attention),
        "database": database,
    }
    shown: dict[str, Any] = {"queues": [], "dead_letters": {}, "outbox": None, "attention": []}
    return {"status": status, **shown, "instances": [instance]}


def test_a_banner_names_each_service_database_and_broker_that_does_not_answer() -> None:
    services = {
        "meetings": service("ok"),
        "evaluation": service("down", "Không kết nối được cơ sở dữ liệu", database="down: ConnectionRefusedError(111)"),
        "notifications": service("down"),
    }
    page = operations_html(figures={"broker": "down", "services": services, "failed_deliveries": None})
    said = banner(page)
    first = "Hiện không phản hồi: máy chủ tin nhắn (RabbitMQ); cơ sở dữ liệu của dịch vụ chấm điểm;"
    assert said.startswith(first), said
    assert "dịch vụ thông báo" in said and "sinh hoạt chi bộ" not in said, said
    assert 'data-service="meetings"' in page and 'data-figure="held"' in page  # the rest of the page is drawn
    assert banner(operations_html(figures={"services": {"meetings": service("ok", database="ok")}})) == ""
    # the heartbeat's figure says it, not its words: a line that merely starts so names no database
    worded = {"meetings": service("degraded", "database down: as said by an older wording", database="ok")}
    assert banner(operations_html(figures={"services": worded})) == ""


async def test_an_overview_that_fails_on_an_outage_leaves_the_rest_of_the_page_with_a_banner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise asyncpg.exceptions.CannotConnectNowError("the database system is starting up")

    async def silent(*args: Any, **kwargs: Any) -> Any:
        raise RpcError("unavailable", "meetings did not answer")

    async def held(*args: Any, **kwargs: Any) -> Any:
        return {"total": 0, "offset": 0, "items": []}

    monkeypatch.setattr(recovery, "operations_overview", unreachable)
    monkeypatch.setattr(recovery, "list_parked_rows", unreachable)
    monkeypatch.setattr(recovery, "list_held_events", held)
    monkeypatch.setattr(operations_api, "list_rejections", silent)
    request = Request(
        {"type": "http", "method": "GET", "path": "/app/operations", "query_string": b"", "headers": [], "app": None}
    )
    viewer = SimpleNamespace(role=Role.OPERATOR, account=SimpleNamespace(sub="op"), csrf="t", principal=None)
    page = await operations._page(request, viewer, SimpleNamespace())  # type: ignore[arg-type]
    assert page.status_code == 200
    body = bytes(page.body).decode()
    assert "Hiện không phản hồi: bảng tổng quan các dịch vụ" in banner(body), body[:3000]
    assert 'id="held"' in body and 'id="rejections"' in body  # the lists, drawn from what answered
