"""The alert settings page while notifications (which keeps the settings) does not answer: it answered the generic
503 "Hệ thống đang bận" as a whole. It now shows the committee's page with a Vietnamese banner and no form, and a
form sent then is a 503 page saying nothing was saved; a change sent that got no answer in time says it may already
be saved; both give the form back as sent, its ticks to change, as every command's form (core.form_again_page)."""

import html
from typing import Any

import httpx
import pytest

from services.gateway.http import alert_rules
from shared.rpc import ServiceUnavailable
from tests.gateway.fakes import FakeServices, World
from tests.gateway.test_alerts_page import csrf_of, officer  # noqa: F401 (the signed-in officer fixture)

BANNER = "Thiết lập cảnh báo tạm thời chưa hiển thị và chưa thay đổi được"
NOTHING_SAVED = "Chưa có gì được lưu"
UNKNOWN = "có thể nội dung đã được lưu"


async def test_the_page_says_the_settings_are_unavailable_and_a_form_sent_saves_nothing(
    officer: httpx.AsyncClient,  # noqa: F811 (the fixture imported above)
    world: World,
    fakes: FakeServices,
) -> None:
    path = f"/app/committees/{world.ward_a}/alerts"
    page = await officer.get(path)
    assert page.status_code == 200 and BANNER not in html.unescape(page.text)
    csrf = csrf_of(page.text)
    await fakes.notifications.stop()
    try:
        down = await officer.get(path)
        assert down.status_code == 200, down.text[-2000:]
        text = html.unescape(down.text)
        assert 'id="alert-rules-unavailable"' in down.text and BANNER in text, text[-2000:]
        assert f'action="{path}/probation_ending"' not in down.text  # no form that would save nothing
        assert "Hệ thống đang bận" not in text

        form = {"csrf": csrf, "was.enabled": "on", "was.days_before": "30", "days_before": "45"}
        sent = await officer.post(f"{path}/probation_ending", data=form)
        assert sent.status_code == 503, sent.text[-2000:]
        said = html.unescape(sent.text)
        assert NOTHING_SAVED in said and f'action="{path}/probation_ending"' in sent.text, said[-2000:]
        assert '<input type="checkbox" name="enabled" value="on">' in sent.text, said[-2000:]  # unticked, to tick
        assert 'name="days_before" value="45"' in sent.text, said[-2000:]
        reset = await officer.post(f"{path}/probation_ending/reset", data={"csrf": csrf, "what": "days_before"})
        assert reset.status_code == 503 and NOTHING_SAVED in html.unescape(reset.text)
        assert f'action="{path}/probation_ending/reset"' in reset.text
    finally:
        await fakes.notifications.start()
    again = await officer.get(path)
    assert again.status_code == 200 and 'id="alert-rules-unavailable"' not in again.text


async def test_a_change_that_got_no_answer_in_time_says_it_is_not_known_whether_it_was_saved(
    officer: httpx.AsyncClient,  # noqa: F811 (the fixture imported above)
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = f"/app/committees/{world.ward_a}/alerts"
    page = await officer.get(path)

    async def timed_out(*_: Any, **__: Any) -> Any:
        raise ServiceUnavailable("notifications").explained(alert_rules.CHANGE_UNANSWERED)

    monkeypatch.setattr(alert_rules, "set_alert_rule", timed_out)
    sent = await officer.post(
        f"{path}/probation_ending", data={"csrf": csrf_of(page.text), "enabled": "on", "days_before": "46"}
    )
    assert sent.status_code == 503, sent.text[-2000:]
    said = html.unescape(sent.text)
    assert UNKNOWN in said and NOTHING_SAVED not in said, said[-2000:]
    assert f'action="{path}/probation_ending"' in sent.text and 'name="days_before" value="46"' in sent.text
