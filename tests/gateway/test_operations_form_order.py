"""The operations page's drop and retry forms say everything wrong with what was posted at once, in the form's order
(FormLabels.order, as every other form): they checked the row the page filled in first and stopped there, so a drop
with a missing reason and a stale row said only the row, and a dismissal only that it named no rejection."""

import html
import re

import httpx

from tests.gateway.test_operations import operator_page


def listed(page: str) -> list[str]:
    """The messages of the page's error box, top to bottom."""
    box = re.search(r'id="page-errors"[^>]*>(.*?)</div>', page, re.S)  # the summary's attributes, then its list
    assert box is not None, page[-2000:]
    items = re.findall(r"<li[^>]*>(.*?)</li>", box.group(1), re.S)  # each a link to its field (error-summary.js)
    return [html.unescape(re.sub(r"<[^>]+>", "", item)) for item in items]


async def test_a_drop_or_retry_form_says_all_that_is_wrong_in_the_forms_order(
    client: httpx.AsyncClient, amqp_url: str, database_url: str
) -> None:
    page = await operator_page(client, amqp_url, database_url, keep_signed_in=True)
    csrf = page[page.index('name="csrf" value="') + len('name="csrf" value="') :].split('"', 1)[0]
    try:
        answers = {}
        for path, data in (
            ("parked/drop", {"service": "nosuch", "id": "abc", "reason": ""}),
            ("parked/replay", {"service": "nosuch", "id": "abc"}),
            ("held/drop", {"source": "", "event_id": "", "reason": ""}),
            ("held/retry", {"source": "", "event_id": ""}),
            ("rejections/dismiss", {"rejection_id": "", "event_id": "", "reason": ""}),
        ):
            answer = await client.post(f"/app/operations/{path}", data={**data, "csrf": csrf})
            assert answer.status_code == 422, (path, answer.status_code)
            answers[path] = listed(answer.text)
    finally:
        client.cookies.clear()
    service = "Không có dịch vụ nosuch: hãy chọn meetings, evaluation hoặc notifications."
    row = "Số thứ tự sự kiện chờ gửi abc không hợp lệ: đó phải là một số nguyên từ 1 đến 9223372036854775807."
    reason = "Lý do: không được để trống."
    filled = "giá trị này do trang tự điền, nhưng bản gửi đi bị thiếu hoặc không hợp lệ"
    assert answers["parked/drop"] == [service, row, reason]
    assert answers["parked/replay"] == [service, row]
    for path, more in (("held/drop", [reason]), ("held/retry", [])):
        said = answers[path]
        assert [line.partition(":")[0] for line in said[:2]] == ["Nguồn sự kiện", "Mã sự kiện"], said
        assert all(filled in line for line in said[:2]) and said[2:] == more, said
    assert answers["rejections/dismiss"] == ["Biểu mẫu không nêu sự kiện bị từ chối nào.", reason]
