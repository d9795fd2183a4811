"""While the evaluation service is down, the assessment forms (the cell committee's self-assessment on the record
page, the upper-level monitor's confirmation) have no item to show: the pages said nothing of it (the record page
left the form out, the confirmation said "no item to confirm yet"), and a form sent then answered "Điểm: vui lòng
nhập trường này" for boxes it did not show. They now say the items cannot be loaded right now and to try again
later, and a form sent then is a 503 page saying so, nothing sent. The operator's page meanwhile names what does not
answer in a banner over the rest of the page (it showed only a figure's dash here and there). A form sent while
evaluation is down (its items read again to judge the points) comes back as typed, nothing sent, to send again
(core.form_again_page), as a form does while meetings is down (test_meetings_down_forms)."""

import html
import re
import time
import uuid

import asyncpg
import pytest

from tests.gateway.test_forms_again import as_data, submitted
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import MONTHS, PERIOD, csrf_of, signed_in, web_account
from tests.web.test_record_values import AHEAD, HELD, begun_meeting
from tests.web.test_resubmission import hidden

pytestmark = pytest.mark.e2e

SAID = "chưa tải được các tiêu chí chấm điểm vì dịch vụ chấm điểm tạm thời không phản hồi"
CONFIRM = f"/app/monitoring/meetings/{HELD}"
OPERATOR = "van-hanh-danh-gia"
NOT_SENT = "Chưa có gì được lưu: tạm thời chưa kết nối được với dịch vụ cần thiết nên biểu mẫu này chưa được gửi đi."


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
            assert NOT_SENT in said and "không được để trống" not in said, said[-2000:]
            assert ("comment", "Đã rà soát") in submitted(sent.text).pairs  # what was typed, to send again

            page = await monitor.get(CONFIRM)
            assert page.status_code == 200
            assert 'id="criteria-unavailable"' in page.text and SAID in text(page.text).lower()
            assert "Buổi sinh hoạt này chưa có tiêu chí" not in text(page.text)
            assert f'action="{CONFIRM}"' not in page.text
            sent = await monitor.post(CONFIRM, data={"csrf": csrf_of(page.text), "comment": "Xác nhận"})
            assert sent.status_code == 503 and NOT_SENT in text(sent.text), sent.text[-2000:]
            assert "không được để trống" not in text(sent.text)
            assert ("comment", "Xác nhận") in submitted(sent.text).pairs

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


async def assessed_with(system: RunningSystem, meeting_id: str, comment: str) -> int:
    """How many assessments of the meeting meetings holds with `comment`."""
    conn = await asyncpg.connect(system.env["CHIBO_DATABASE_URL"])
    try:
        found: int = await conn.fetchval(
            "SELECT count(*) FROM meetings.assessment WHERE meeting_id = $1 AND comment = $2", meeting_id, comment
        )
        return found
    finally:
        await conn.close()


async def test_the_self_assessment_sent_while_evaluation_is_down_comes_back_as_typed_and_is_stored_once(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """A trial typed the points of the self-assessment, evaluation went down, and "Lưu điểm" answered only that the
    items could not be loaded: the points typed were lost. The items (read again from evaluation to judge the points)
    are a service the form needs, so it now comes back as the meetings-down forms do: nothing saved, every point and
    the comment as typed, its one-time key kept; sent again once evaluation answers, it is stored once."""
    begun, _starts = await begun_meeting(system, province)
    path = f"/app/meetings/{begun}/record"
    action = f"/app/meetings/{begun}/assessment"
    async with signed_in(system, "secretary") as client:

        async def scored() -> str | None:
            page = (await client.get(path)).text
            return page if 'name="point-' in page else None

        record = await eventually(scored)  # evaluation scores the meeting begun: its items to assess
        codes = re.findall(r'name="point-([a-z_.]+)"', record)
        comment = f"Chi ủy tự đánh giá {uuid.uuid4().hex[:6]}"
        form: dict[str, str] = {"csrf": csrf_of(record), "form_key": hidden(record, "form_key", after=action)}
        form |= {f"point-{code}": "0" for code in codes} | {"comment": comment}
        assert form["form_key"] and codes
        system.stop("evaluation")
        try:
            sent = await client.post(action, data=form)
        finally:
            system.start("evaluation")
        assert sent.status_code == 503, sent.text[-2000:]
        assert NOT_SENT in text(sent.text), sent.text[-2000:]
        assert SAID not in text(sent.text).lower()
        assert f'action="{action}"' in sent.text
        shown = submitted(sent.text).pairs
        assert [(name, value) for name, value in shown if name.startswith("point-")] == [
            (f"point-{code}", "0") for code in codes
        ], shown
        assert ("comment", comment) in shown and ("form_key", form["form_key"]) in shown, shown
        assert await assessed_with(system, begun, comment) == 0  # nothing half-stored
        again = await client.post(action, data=as_data(shown))
        assert again.status_code in (200, 303), again.text[-2000:]
        twice = await client.post(action, data=as_data(shown))  # the same command: recorded once
        assert twice.status_code in (200, 303), twice.text[-2000:]
    assert await eventually(lambda: assessed_with(system, begun, comment)) == 1
    assert await assessed_with(system, begun, comment) == 1
