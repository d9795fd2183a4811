"""The committee officer's alert settings page (/app/committees/{c}/alerts) over the fakes: every rule in
Vietnamese with its value and origin, a change that reaches notifications, errors re-showing what was typed, CSRF."""

import html
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from babel.messages.pofile import read_po

from services.gateway.config import GatewaySettings
from services.gateway.web import i18n
from services.gateway.web.i18n import _
from services.gateway.web.pages import alerts
from services.notifications.domain import settings
from tests.gateway.fakes import World
from tests.support.web import PASSWORD, csrf_of, sign_in

WEB = Path(i18n.__file__).parent


def section(page: str, rule: str) -> str:
    """The text of one rule's card."""
    start = page.index(f'id="rule-{rule}"')
    return html.unescape(page[start : page.index("</section>", start)])


@pytest.fixture
async def officer(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The shared client signed in as an officer of ward A (a web account made for it), signed out afterwards."""
    made_by = GatewaySettings(database_url=database_url, amqp_url=amqp_url)
    await sign_in(client, made_by, sub=f"ward-{uuid.uuid4().hex[:8]}", role="committee_officer", unit=world.ward_a)
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
    assert "khi điểm đã ổn định (cảnh báo chờ số phút đặt bên dưới" in rated  # its description says the alert waits

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


def test_each_rules_description_says_what_its_number_settings_do() -> None:
    """A rule with a whole-number setting (hours before, days after, minutes to settle, ...) says in natural
    Vietnamese which number below it uses (`số giờ/ngày/buổi/phút ... đặt bên dưới`): meeting_rated_low's description
    did not say the alert waits `settle_minutes` for the score to settle, period_rated_low's said `some days`, and a
    trial read the unnatural `chừng này giờ/ngày/buổi` in every one of them."""
    numbered = sorted(
        rule
        for rule, params in settings.DEFAULTS.items()
        if any(isinstance(value, int) and not isinstance(value, bool) for value in params.values())
    )
    assert numbered
    for rule in numbered:
        explanation = _(alerts.RULES[rule][1])
        assert "đặt bên dưới" in explanation, (rule, explanation)
    rated = _(alerts.RULES["meeting_rated_low"][1])
    assert "điểm đã ổn định" in rated and "số phút đặt bên dưới" in rated, rated


def test_no_text_points_at_a_number_with_chung_nay() -> None:
    """No Vietnamese text of the app says `chừng này` / `chừng ấy` (a word-for-word "this many") or `ngày này`
    for a setting's value: each names the number it means."""
    catalog = read_po((WEB / "locale" / "vi" / "LC_MESSAGES" / "messages.po").open("rb"))
    unnatural = [
        message.string
        for message in catalog
        if isinstance(message.string, str)
        and ("chừng này" in message.string or "chừng ấy" in message.string or "Đến ngày này" in message.string)
    ]
    assert unnatural == []


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("0", "Số đảng viên chính thức tối thiểu: phải từ 3 đến 100."),
        ("ba mươi", "Số đảng viên chính thức tối thiểu: vui lòng nhập số nguyên."),
        ("٤٥", "Số đảng viên chính thức tối thiểu: vui lòng nhập số nguyên."),  # Arabic-Indic digits
        ("１２", "Số đảng viên chính thức tối thiểu: vui lòng nhập số nguyên."),  # full-width digits
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


INVISIBLE_ONLY = ["\u200b", " \u2060\u00ad ", "\u3164\ufeff", "\u2062\u00a0\u180e"]
"""Values that show nothing (shared.text.has_text calls them blank)."""


@pytest.mark.parametrize("typed", INVISIBLE_ONLY)
async def test_a_number_of_only_invisible_characters_is_said_empty(
    officer: httpx.AsyncClient, world: World, typed: str
) -> None:
    """As every form says a field left blank (shared.text.has_text), not "enter a whole number"."""
    path = f"/app/committees/{world.ward_a}/alerts"
    page = await officer.get(path)
    refused = await officer.post(
        f"{path}/cell_without_committee",
        data={"csrf": csrf_of(page.text), "enabled": "on", "official_members_at_least": typed},
    )
    assert refused.status_code == 422, refused.text
    card = section(refused.text, "cell_without_committee")
    assert "Số đảng viên chính thức tối thiểu: không được để trống." in card, card


@pytest.mark.parametrize("typed", INVISIBLE_ONLY)
async def test_a_username_of_only_invisible_characters_is_said_empty(client: httpx.AsyncClient, typed: str) -> None:
    """The sign-in form names the username left blank (shared.text.has_text) instead of trying an account so named."""
    form = (await client.get("/app/sign-in")).text
    refused = await client.post("/app/sign-in", data={"username": typed, "password": PASSWORD, "csrf": csrf_of(form)})
    assert refused.status_code == 422, refused.text
    assert "Tên đăng nhập: không được để trống." in html.unescape(refused.text), refused.text


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


def visible(card: str) -> str:
    """A card's text as read, tags left out and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", card).split())


def form_fields(card: str) -> list[tuple[str, str]]:
    """The (name, value) pairs a browser posts from a rule card's form as rendered (hidden fields, ticked boxes and
    typed numbers; the reset buttons' forms left out)."""
    form = card[card.index('<form method="post" action="/app/committees/') :]
    form = form[form.index("novalidate") :]
    fields: list[tuple[str, str]] = []
    for tag in re.findall(r"<input [^>]*>", form):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name is None:
            continue
        if 'type="checkbox"' in tag:
            if " checked" in tag:
                fields.append((name.group(1), value.group(1) if value else "on"))
            continue
        fields.append((name.group(1), value.group(1) if value else ""))
    return fields


def posted(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The pairs as httpx posts a form (a name given several times keeps each value)."""
    data: dict[str, list[str]] = {}
    for key, value in fields:
        data.setdefault(key, []).append(value)
    return data


def with_value(fields: list[tuple[str, str]], name: str, value: str | None) -> dict[str, list[str]]:
    """The fields as posted, one changed (None: a box unticked)."""
    kept = [(key, old) for key, old in fields if key != name]
    return posted(kept if value is None else [*kept, (name, value)])


async def rule_state(officer: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, rule: str) -> Any:
    """One rule as the API reads it for ward A."""
    api = await officer.get(f"/v1/committees/{world.ward_a}/alert-rules", headers=headers["ward_officer"])
    return next(item for item in api.json()["rules"] if item["rule"] == rule)


async def test_saving_a_parameter_keeps_a_rule_switched_off_and_a_stale_tab_switches_nothing_back(
    officer: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, state: Any
) -> None:
    """A trial's commune switched "Buổi sinh hoạt bị xếp loại thấp" off, then changed only its settle minutes with
    the box left unticked: the rule came back on ("Bật (mặc định)") and the audit said reset_enabled. A form left
    open in another tab while the rule was switched off switched it back on with its old ticked box."""
    path = f"/app/committees/{world.ward_a}/alerts"
    rule = "meeting_rated_low"
    page = await officer.get(path)
    stale = form_fields(section(page.text, rule))  # a second tab, rendered while the rule is on
    assert ("enabled", "on") in stale and ("was.enabled", "on") in stale
    off = await officer.post(f"{path}/{rule}", data=with_value(stale, "enabled", None))
    assert off.status_code == 303, off.text
    page = await officer.get(path)
    assert "Tắt (do cấp ủy này đặt)" in visible(section(page.text, rule))

    saved = await officer.post(
        f"{path}/{rule}", data=with_value(form_fields(section(page.text, rule)), "settle_minutes", "40")
    )
    assert saved.status_code == 303, saved.text
    now = await rule_state(officer, headers, world, rule)
    assert (now["enabled"], now["enabled_from"]["origin"], now["params"]["settle_minutes"]) == (
        False,
        "this_committee",
        40,
    )
    row = await state.pool.fetchrow(
        "SELECT detail FROM audit_log WHERE path = $1 ORDER BY id DESC LIMIT 1", f"{path}/{rule}"
    )
    assert "reset_enabled" not in row["detail"] and '"settle_minutes": 40' in row["detail"]

    # the stale tab changes only its settle minutes: its ticked box is what it was rendered with, so it switches
    # nothing back; and as the minutes it changes were changed since it was rendered, it is refused, saying them now
    resent = await officer.post(f"{path}/{rule}", data=with_value(stale, "settle_minutes", "50"))
    assert resent.status_code == 422, resent.text
    assert "đã được thay đổi sau khi đồng chí mở trang này" in resent.text
    now = await rule_state(officer, headers, world, rule)
    assert (now["enabled"], now["params"]["settle_minutes"]) == (False, 40)


async def test_numbers_on_the_alert_page_are_written_the_vietnamese_way_and_labels_read_once(
    officer: httpx.AsyncClient, world: World
) -> None:
    """The hint said "từ 0 đến 1440" and the error "phải từ 0 đến 1.440"; "Số đảng viên chính thức, từ" then
    "từ 3 đến 100" read "từ từ"."""
    path = f"/app/committees/{world.ward_a}/alerts"
    page = await officer.get(path)
    rated = visible(section(page.text, "meeting_rated_low"))
    assert "từ 0 đến 1.440" in rated and "1440" not in rated
    committee = visible(section(page.text, "cell_without_committee"))
    assert "từ từ" not in committee and "Số đảng viên chính thức tối thiểu" in committee
    refused = await officer.post(
        f"{path}/meeting_rated_low",
        data=with_value(form_fields(section(page.text, "meeting_rated_low")), "settle_minutes", "2000"),
    )
    assert refused.status_code == 422
    assert "phải từ 0 đến 1.440" in visible(section(refused.text, "meeting_rated_low"))


async def test_a_refused_change_on_the_page_is_audited_with_what_was_tried_and_why(
    officer: httpx.AsyncClient, world: World, state: Any
) -> None:
    path = f"/app/committees/{world.ward_a}/alerts"
    page = await officer.get(path)
    fields = form_fields(section(page.text, "meeting_reminder"))
    refused = await officer.post(f"{path}/meeting_reminder", data=with_value(fields, "hours_before", "500"))
    assert refused.status_code == 422
    row = await state.pool.fetchrow(
        "SELECT status, detail FROM audit_log WHERE path = $1 ORDER BY id DESC LIMIT 1", f"{path}/meeting_reminder"
    )
    assert row["status"] == 422 and '"hours_before": 500' in row["detail"] and "params.hours_before" in row["detail"]
    typed = await officer.post(f"{path}/meeting_reminder", data=with_value(fields, "hours_before", "ba"))
    assert typed.status_code == 422
    row = await state.pool.fetchrow(
        "SELECT status, detail FROM audit_log WHERE path = $1 ORDER BY id DESC LIMIT 1", f"{path}/meeting_reminder"
    )
    assert row["status"] == 422 and '"ba"' in row["detail"] and "not a whole number" in row["detail"]


async def test_ratings_ticked_are_saved_once(
    officer: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World
) -> None:
    path = f"/app/committees/{world.ward_a}/alerts"
    page = await officer.get(path)
    fields = [(k, v) for k, v in form_fields(section(page.text, "period_rated_low")) if k != "ratings"]
    saved = await officer.post(
        f"{path}/period_rated_low", data=posted([*fields, ("ratings", "poor"), ("ratings", "poor")])
    )
    assert saved.status_code == 303, saved.text
    assert (await rule_state(officer, headers, world, "period_rated_low"))["params"]["ratings"] == ["poor"]
