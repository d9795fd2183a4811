"""The committee officer's alert settings page (/app/committees/{c}/alerts) over the fakes: every rule in
Vietnamese with its value and origin, a change that reaches notifications, errors re-showing what was typed, CSRF."""

import argparse
import html
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from services.gateway.config import GatewaySettings
from services.gateway.web.cli import create_web_account
from tests.gateway.fakes import World

PASSWORD = "mật-khẩu-thử-2026"


def csrf_of(page: str) -> str:
    """The page's CSRF token."""
    return page[page.index('name="csrf" value="') + len('name="csrf" value="') :].split('"', 1)[0]


def section(page: str, rule: str) -> str:
    """The text of one rule's card."""
    start = page.index(f'id="rule-{rule}"')
    return html.unescape(page[start : page.index("</section>", start)])


@pytest.fixture
async def officer(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The shared client signed in as an officer of ward A (a web account made for it), signed out afterwards."""
    sub = f"ward-{uuid.uuid4().hex[:8]}"
    args = argparse.Namespace(
        sub=sub,
        role="committee_officer",
        unit=world.ward_a,
        person=None,
        password=PASSWORD,
        oidc_subject=None,
        oidc_email=None,
    )
    await create_web_account(GatewaySettings(database_url=database_url, amqp_url=amqp_url), args)
    form = (await client.get("/app/sign-in")).text
    signed = await client.post("/app/sign-in", data={"username": sub, "password": PASSWORD, "csrf": csrf_of(form)})
    assert signed.status_code == 303, signed.text
    try:
        yield client
    finally:
        client.cookies.clear()


async def test_the_page_lists_every_rule_in_vietnamese_and_a_change_takes_effect(
    officer: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    path = f"/app/committees/{world.ward_a}/alerts"
    page = await officer.get(path)
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert text.count('data-rule="') >= 18
    reminder = section(page.text, "probation_ending")
    assert "Sắp hết thời gian dự bị" in reminder and "gửi bí thư chi bộ" in reminder
    assert "(mặc định)" in reminder and 'value="30"' in reminder
    rated = section(page.text, "meeting_rated_low")  # judged on the settled score, after a settle period
    assert "Chờ điểm ổn định (phút)" in html.unescape(rated) and 'value="30"' in rated

    saved = await officer.post(
        f"{path}/probation_ending", data={"csrf": csrf_of(page.text), "enabled": "on", "days_before": "45"}
    )
    assert saved.status_code == 303, saved.text
    after = await officer.get(saved.headers["location"])
    card = section(after.text, "probation_ending")
    assert 'value="45"' in card and "(do cấp ủy này đặt)" in card and "Đã lưu." in after.text
    assert "(mặc định)" in card  # the state was not changed, so it still comes from the default
    # notifications holds it: the API reads it back from there for the ward
    api = await officer.get(f"/v1/committees/{world.ward_a}/alert-rules", headers=headers["ward_officer"])
    rule = next(item for item in api.json()["rules"] if item["rule"] == "probation_ending")
    assert rule["params"] == {"days_before": 45} and rule["params_from"]["days_before"]["origin"] == "this_committee"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", "Số đảng viên chính thức, từ: phải từ 3 đến 100."),
        ("ba mươi", "Số đảng viên chính thức, từ: vui lòng nhập số nguyên."),
    ],
)
async def test_a_wrong_value_is_said_in_vietnamese_and_what_was_typed_is_shown_again(
    officer: httpx.AsyncClient, world: World, typed: str, message: str
) -> None:
    path = f"/app/committees/{world.ward_a}/alerts"
    page = await officer.get(path)
    refused = await officer.post(
        f"{path}/cell_without_committee",
        data={"csrf": csrf_of(page.text), "enabled": "on", "official_members_at_least": typed},
    )
    assert refused.status_code == 422, refused.text
    card = section(refused.text, "cell_without_committee")
    assert f'value="{typed}"' in card
    assert message in card, card


async def test_a_form_without_the_sessions_token_changes_nothing(officer: httpx.AsyncClient, world: World) -> None:
    path = f"/app/committees/{world.ward_a}/alerts"
    refused = await officer.post(f"{path}/monitor_behind_quota", data={"csrf": "not-the-token"})
    assert refused.status_code == 403
    card = section((await officer.get(path)).text, "monitor_behind_quota")
    assert "Bật" in card and "(mặc định)" in card


async def test_another_wards_page_is_not_found_and_the_committee_page_links_here(
    officer: httpx.AsyncClient, world: World
) -> None:
    assert (await officer.get(f"/app/committees/{world.ward_b}/alerts")).status_code == 404
    committee = await officer.get(f"/app/committees/{world.ward_a}?period=2026-11")
    assert f'href="/app/committees/{world.ward_a}/alerts"' in committee.text


async def test_a_committees_own_values_are_given_back_to_the_level_above(
    officer: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    """A trial's ward switched a rule off and could never follow the level above again on the page (only the API
    could give back a parameter, and nothing on or off): each value the committee set has a button that gives it
    back, as the API's PUT with that value null does."""
    path = f"/app/committees/{world.ward_a}/alerts"
    page = await officer.get(path)
    assert 'data-reset="' not in section(page.text, "consecutive_absences")  # nothing of its own yet
    saved = await officer.post(f"{path}/consecutive_absences", data={"csrf": csrf_of(page.text), "more_than": "5"})
    assert saved.status_code == 303, saved.text
    page = await officer.get(path)
    card = section(page.text, "consecutive_absences")
    assert "Tắt" in card and card.count("(do cấp ủy này đặt)") == 2
    assert 'data-reset="enabled"' in card and 'data-reset="more_than"' in card
    assert "Dùng lại thiết lập của cấp trên" in card

    back = await officer.post(
        f"{path}/consecutive_absences/reset", data={"csrf": csrf_of(page.text), "what": "enabled"}
    )
    assert back.status_code == 303, back.text
    card = section((await officer.get(path)).text, "consecutive_absences")
    assert "Bật" in card and 'data-reset="enabled"' not in card and 'data-reset="more_than"' in card
    back = await officer.post(
        f"{path}/consecutive_absences/reset", data={"csrf": csrf_of(page.text), "what": "more_than"}
    )
    assert back.status_code == 303, back.text
    card = section((await officer.get(path)).text, "consecutive_absences")
    assert 'data-reset="' not in card and card.count("(mặc định)") == 2 and 'value="3"' in card
    api = await officer.get(f"/v1/committees/{world.ward_a}/alert-rules", headers=headers["ward_officer"])
    rule = next(item for item in api.json()["rules"] if item["rule"] == "consecutive_absences")
    assert (rule["enabled"], rule["enabled_from"]["origin"], rule["params_from"]["more_than"]["origin"]) == (
        True,
        "default",
        "default",
    )
    unknown = await officer.post(f"{path}/consecutive_absences/reset", data={"csrf": csrf_of(page.text), "what": "x"})
    assert unknown.status_code == 404
