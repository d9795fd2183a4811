"""A page that takes a year says a wrong year is no year (`/app/cells/…?year=abc` told of months, quarters and years,
which that page does not take); a page that takes a period still names the three kinds."""

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from services.gateway.web import periods
from services.gateway.web.core import WebRoute


def client() -> TestClient:
    """An app with a year page and a period page, answered as the web's pages answer."""
    router = APIRouter(route_class=WebRoute)

    @router.get("/year")
    async def year_page(year: str | None = None) -> dict[str, str]:
        return {"year": periods.checked_year(year)}

    @router.get("/period")
    async def period_page(period: str | None = None) -> dict[str, str]:
        return {"period": periods.checked(period)}

    app = FastAPI()
    app.include_router(router)
    return TestClient(app)


def test_a_wrong_year_is_told_to_be_a_year() -> None:
    answer = client().get("/year", params={"year": "abc"})
    assert answer.status_code == 422
    assert "“abc” không phải là năm: nhập năm gồm bốn chữ số, ví dụ 2026." in answer.text
    assert "quý" not in answer.text and "tháng" not in answer.text


def test_a_wrong_period_still_names_the_kinds_of_period() -> None:
    answer = client().get("/period", params={"period": "abc"})
    assert answer.status_code == 422 and "“abc”" in answer.text and "2026-Q4" in answer.text
