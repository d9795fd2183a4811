"""While the evaluation service is down, the assessment forms (the cell committee's self-assessment on the record
page, the upper-level monitor's confirmation) have no item to show: the pages said nothing of it (the record page
left the form out, the confirmation said "no item to confirm yet"), and a form sent then answered "Điểm: vui lòng
nhập trường này" for boxes it did not show. They now say the items cannot be loaded right now and to try again
later, and a form sent then is a 503 page saying so, nothing sent. The operator's page meanwhile names what does not
answer in a banner over the rest of the page (it showed only a figure's dash here and there)."""

import html
import time

import pytest

from tests.support.system import RunningSystem
from tests.web.conftest import MONTHS, PERIOD, csrf_of, signed_in, web_account
from tests.web.test_record_values import AHEAD, HELD

pytestmark = pytest.mark.e2e

SAID = "chưa tải được các tiêu chí chấm điểm vì dịch vụ chấm điểm tạm thời không phản hồi"
CONFIRM = f"/app/monitoring/meetings/{HELD}"
OPERATOR = "van-hanh-danh-gia"


def text(page: str) -> str:
    """A page's text with its entities read (`&#39;` as `'`)."""
    return html.unescape(page)


async def test_the_assessment_forms_say_their_items_cannot_be_loaded_while_evaluation_is_down(
    system: RunningSystem, province: dict[str, str]
) -> None:
    await web_account(system, OPERATOR, "operator", None, None)
    async with signed_in(system, "secretary") as secretary, signed_in(system, "monitor") as monitor:
        shown = (await secretary.get(f"/app/meetings/{HELD}/record")).text
        assert 'name="point-' in shown and SAID not in text(shown).lower()  # evaluation answers: the items
        confirm = (await monitor.get(CONFIRM)).text
        assert 'name="point-' in confirm and SAID not in text(confirm).lower()
        system.stop("evaluation")
        try:
            record = await secretary.get(f"/app/meetings/{HELD}/record")
            assert record.status_code == 200
            assert 'id="criteria-unavailable"' in record.text and SAID in text(record.text).lower(), record.text[-2000:]
            assert f'action="/app/meetings/{HELD}/assessment"' not in record.text  # no form that sends nothing
            sent = await secretary.post(
                f"/app/meetings/{HELD}/assessment", data={"csrf": csrf_of(record.text), "comment": "Đã rà soát"}
            )
            assert sent.status_code == 503, sent.text[-2000:]
            said = text(sent.text)
            assert SAID in said.lower() and "không được để trống" not in said, said[-2000:]
            assert f'href="/app/meetings/{HELD}/record"' in sent.text  # the way back to the form

            page = await monitor.get(CONFIRM)
            assert page.status_code == 200
            assert 'id="criteria-unavailable"' in page.text and SAID in text(page.text).lower()
            assert "Buổi sinh hoạt này chưa có tiêu chí" not in text(page.text)
            assert f'action="{CONFIRM}"' not in page.text
            sent = await monitor.post(CONFIRM, data={"csrf": csrf_of(page.text), "comment": "Xác nhận"})
            assert sent.status_code == 503 and SAID in text(sent.text).lower(), sent.text[-2000:]
            assert "không được để trống" not in text(sent.text)

            async with signed_in(system, OPERATOR) as operator:
                operations = await operator.get("/app/operations")
            assert operations.status_code == 200, operations.text[-2000:]
            banner = text(operations.text.split('id="outages"', 1)[1].split("</p>", 1)[0])
            assert "Hiện không phản hồi: dịch vụ chấm điểm" in banner, banner
            assert 'data-service="meetings"' in operations.text  # the rest of the page, from what answers
        finally:
            system.start("evaluation")
        again = (await secretary.get(f"/app/meetings/{HELD}/record")).text
    assert 'name="point-' in again and 'id="criteria-unavailable"' not in again


async def test_a_monitors_confirmation_of_a_meeting_ahead_says_only_that_it_has_not_begun(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """The monitor's confirmation learnt "Buổi sinh hoạt chưa diễn ra…" from the API only after its points were
    right. A meeting ahead is not scored now (shared.plausible.meeting_begun), so it has no item to assess: points
    posted anyway are answered that alone, never "Điểm: không được để trống" for boxes the page does not show."""
    async with signed_in(system, "monitor") as monitor:
        shown = (await monitor.get(CONFIRM)).text
        codes = [part.split('"', 1)[0] for part in shown.split('name="point-')[1:]]
        assert codes
        page = (await monitor.get(f"/app/monitoring/meetings/{AHEAD}")).text
        form: dict[str, object] = {"csrf": csrf_of(page), "comment": "Xác nhận"}
        form |= {f"point-{code}": "1" for code in codes}
        form[f"point-{codes[-1]}"] = "nhiều"
        sent = await monitor.post(f"/app/monitoring/meetings/{AHEAD}", data=form)
    assert sent.status_code == 422, sent.text[-2000:]
    errors = text(sent.text.split('id="confirm-errors"', 1)[1].split("</ul>", 1)[0])
    assert "Buổi sinh hoạt chưa diễn ra" in errors and "Điểm" not in errors, errors


async def test_the_rescore_form_sent_while_evaluation_is_down_says_nothing_was_sent_after_one_timeout(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """The re-score form reads the committee's first month of data from evaluation, which also queues the job: sent
    while evaluation is down it waited a timeout for the month, then the API's check another, and answered the
    generic "Hệ thống đang bận" without the way back. It says now, after one timeout, that nothing was sent, and
    gives the form back as sent (core.form_again_page)."""
    timeout = float(system.env.get("CHIBO_RPC_TIMEOUT") or 5)
    page = "/app/committees/demo-xa-hoa-binh/rescore"
    months = {"period_from": MONTHS[1], "period_to": PERIOD}
    async with signed_in(system, "commune-officer") as officer:
        system.stop("evaluation")
        try:
            form = await officer.get(page)
            assert form.status_code == 200, form.text[-2000:]  # the form itself needs no evaluation
            started = time.monotonic()
            sent = await officer.post(page, data={"csrf": csrf_of(form.text), **months})
            took = time.monotonic() - started
        finally:
            system.start("evaluation")
        assert sent.status_code == 503, sent.text[-2000:]
        said = text(sent.text)
        assert "biểu mẫu này chưa được gửi đi" in said, said[-2000:]
        assert "Hệ thống đang bận" not in said, said[-2000:]
        assert f'action="{page}"' in sent.text and f'name="period_to" value="{PERIOD}">' in sent.text, sent.text[-2000:]
        assert took < 2 * timeout, took  # a second unanswered call would add a second timeout
        assert (await officer.get(page)).status_code == 200  # the way back: the form, evaluation answering again
