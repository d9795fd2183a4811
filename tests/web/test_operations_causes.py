"""The operations page says in Vietnamese why an outbox row was parked and why a letter died, as it does for held
events and rejections, keeping the raw English text under "Chi tiết kỹ thuật"; rendered from the page's template
without a running system."""

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from services.gateway.web import reasons
from services.gateway.web.i18n import translations
from services.gateway.web.pages.operations import DEATH_REASONS
from tests.web.operations_render import PAGER, operations_html


def page(*, parked: dict[str, Any] | None = None, dead_letters: list[Any] | None = None, **figures: Any) -> str:
    """The operations page with these parked rows, dead letters and overview figures."""
    return operations_html(
        figures=figures,
        dead_letters=dead_letters or [],
        dead_letters_pagers={queue["queue"]: PAGER for queue in dead_letters or []},
        parked=parked or {},
        parked_pagers=dict.fromkeys(parked or {}, PAGER),
    )


def cell(html: str, marker: str) -> str:
    """The table cell of `html` holding `marker`."""
    start = html.rindex("<td", 0, html.index(marker))
    return html[start : html.index("</td>", start)]


PARKED = {
    "UnusableExchange(\"exchange 'chibo.events': ChannelNotFoundEntity(404, 'NOT_FOUND')\")": "Sàn trao đổi",
    "ObjectNotInPrerequisiteStateError('database \"meetings\" is not currently accepting connections')": (
        "Cơ sở dữ liệu không nhận kết nối"
    ),
    "ConnectionRefusedError(111, 'Connect call failed')": "không kết nối được",
    "TimeoutError()": "quá lâu",
    "UnicodeEncodeError('utf-8', '\\ud800', 0, 1, 'surrogates not allowed')": "lỗi của dịch vụ",
    "<ChannelAccessRefused: The client attempted to work with a server entity to which it has no access due to"
    " security settings: \"ACCESS_REFUSED - write access to exchange 'chibo.events' in vhost '/' refused for user"
    " 'meetings'\">": "ACCESS_REFUSED, mã 403",
    '<ChannelNotFoundEntity: The client attempted to work with a server entity that does not exist: "NOT_FOUND -'
    " no exchange 'chibo.events' in vhost '/'\">": "NOT_FOUND, mã 404",
    "<ChannelPreconditionFailed: The client requested a method that was not allowed because some precondition"
    ' failed: "PRECONDITION_FAILED - message size 200000000 is larger than configured max size 134217728">': (
        "PRECONDITION_FAILED, mã 406"
    ),
    "KeyError('x')": "Không gửi được dòng này vì một lý do chưa được nhận diện",
}


@pytest.mark.parametrize(("reason", "said"), sorted(PARKED.items()))
def test_a_parked_rows_reason_is_said_in_vietnamese_with_the_raw_text_as_technical_detail(
    reason: str, said: str
) -> None:
    """The user trial: a parked row's "Lý do" showed only the publish error's English repr."""
    row = {"id": 7, "event_id": "evt-7", "type": "meeting.scheduled.v1", "exchange": "chibo.events"}
    html = page(
        parked={"meetings": {"total": 1, "offset": 0, "items": [{**row, "routing_key": "m", "parked_reason": reason}]}}
    )
    why = cell(html, "data-parked-gloss")
    assert said in why, why
    gloss = reasons.explain_parked(reason)
    assert gloss is not None and gloss in why and "Chi tiết kỹ thuật" in why, why


def test_every_kind_of_parked_reason_has_its_example_and_a_translation() -> None:
    for pattern, message in reasons.PARKED_CAUSES:
        assert any(pattern.search(reason) for reason in PARKED), pattern.pattern
        assert translations().gettext(message) != message, message
    assert translations().gettext(reasons.UNKNOWN_PARKED) != reasons.UNKNOWN_PARKED


@pytest.mark.parametrize(
    ("cause", "said"),
    [
        (
            "ObjectNotInPrerequisiteStateError('database \"x\" is not currently accepting connections')",
            "không nhận kết nối",
        ),
        ("KeyError('x')", "Dịch vụ không xử lý được tin nhắn này vì một lý do chưa được nhận diện"),
        ("data.starts_at: Input should be a valid datetime", "Không đọc được sự kiện."),
    ],
)
def test_a_dead_letters_cause_is_said_in_vietnamese_with_the_raw_text_as_technical_detail(
    cause: str, said: str
) -> None:
    """A dead letter's cause was shown under "Nguyên nhân" in English, with no Vietnamese line for unknown kinds."""
    letter = {"event_id": "evt-9", "type": "t", "queue": "meetings.events", "reason": "delivery_limit", "cause": cause}
    queue = {"queue": "meetings.events.dlq", "total": 1, "items": [{**letter, "death_count": 1, "body_bytes": 2}]}
    why = cell(page(dead_letters=[queue]), "data-cause-gloss")
    assert "Lỗi quá số lần cho phép" in why, why  # the delivery limit reached, said first
    assert said in why and "Chi tiết kỹ thuật" in why and "Nguyên nhân" not in why, why


def test_a_figure_whose_service_does_not_answer_says_so_not_only_a_dash() -> None:
    """With notifications down the failed-deliveries figure showed "—" and nothing else; each figure a service did not
    answer for (failed deliveries, held events, open rejections) now says which service does not answer."""
    html = page(failed_deliveries=None, held_events=None, open_rejections=None)
    failed = cell(html.replace("<dd", "<td").replace("</dd>", "</td>"), 'data-figure="failed"')
    assert failed.count("—") == 1 and "dịch vụ thông báo không phản hồi" in failed, failed
    for figure in ("held", "rejections"):
        said = cell(html.replace("<dd", "<td").replace("</dd>", "</td>"), f'data-figure="{figure}"')
        assert "dịch vụ sinh hoạt chi bộ không phản hồi" in said, said
    answered = page(failed_deliveries=3)
    assert "dịch vụ thông báo không phản hồi" not in answered and "data-unavailable" not in answered


def test_a_dead_letters_control_bytes_are_shown_as_code_points_never_raw() -> None:
    """A trial's dead letter with NUL and ESC in its body and a header put them raw into the page's HTML (a NUL is a
    parse error browsers replace, an ESC steers a terminal reading the page): each is shown as its code point."""
    letter = {"event_id": "evt-9", "type": "t", "queue": "meetings.events", "reason": "rejected", "cause": "x\x07y"}
    item = {
        **letter,
        "death_count": 1,
        "body_bytes": 9,
        "body_preview": '{"a":"\x00\x1b[31m\x7f\x85"}\n\tok',
        "headers": {"ce-note": "n\x00b"},
    }
    html = page(dead_letters=[{"queue": "meetings.events.dlq", "total": 1, "items": [item]}])
    controls = [char for char in html if ord(char) < 32 and char not in "\t\n\r" or 0x7F <= ord(char) <= 0x9F]
    assert controls == [], controls
    for shown in ("U+0000U+001B[31mU+007FU+0085", "nU+0000b", "xU+0007y"):
        assert shown in html, shown
    assert "\n\tok" in html  # tab and line breaks are text a preview keeps


def test_a_dead_letter_of_a_batch_names_the_batch_message_it_came_in() -> None:
    """A trial's `[1,2]` sent as message `t34-web-1` died as two letters with new ids and only a batch position: each
    row now names the batch message (and its correlation id), and the event's place in it counted from 1."""
    letter = {"event_id": None, "message_id": "m-2", "type": None, "queue": "evaluation.facts", "reason": "rejected"}
    batch = {"batch_message_id": "t34-web-1", "batch_correlation_id": "corr-7", "batch_position": 1}
    item = {**letter, **batch, "death_count": 1, "body_bytes": 1, "body_preview": "2"}
    html = page(dead_letters=[{"queue": "evaluation.facts.dlq", "total": 1, "items": [item]}])
    said = cell(html, 'data-batch="t34-web-1"')
    assert "Gửi trong lô tin nhắn mã t34-web-1, là sự kiện thứ 2 của lô · mã liên kết corr-7" in said, said
    alone = page(
        dead_letters=[{"queue": "evaluation.facts.dlq", "total": 1, "items": [{**item, **dict.fromkeys(batch)}]}]
    )
    assert "data-batch" not in alone


def test_a_dead_letters_untrusted_headers_are_shown_apart_from_its_cause_and_escaped() -> None:
    """The listing reports the headers a publisher set under chibo's or the broker's names as `untrusted_headers`
    (shared.ops.dead_letters.untrusted_names), but the page showed none of them: an operator could not see that a
    letter came with a forged `x-chibo-reason`. They are now listed under their own label, escaped, never as the
    letter's cause."""
    forged = {"x-chibo-reason": "<script>alert(1)</script>Lỗi giả", "x-first-death-queue": "evaluation.facts"}
    letter = {"event_id": "evt-7", "type": "t", "queue": "meetings.ingest", "reason": "rejected", "cause": None}
    item = {**letter, "death_count": 1, "body_bytes": 2, "body_preview": "{}", "untrusted_headers": forged}
    html = page(dead_letters=[{"queue": "meetings.ingest.dlq", "total": 1, "items": [item]}])
    shown = cell(html, "data-untrusted-headers")
    assert "Tiêu đề do bên gửi tự đặt (không tin cậy)" in shown, shown
    assert "x-chibo-reason" in shown and "x-first-death-queue" in shown and "evaluation.facts" in shown, shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;Lỗi giả" in shown and "<script>" not in html, shown
    why = cell(html, 'data-label="Lý do"')
    assert "Lỗi giả" not in why and "data-cause" not in why and "Chi tiết kỹ thuật" not in why, why
    trusted = {**item, "untrusted_headers": {}}
    plain = page(dead_letters=[{"queue": "meetings.ingest.dlq", "total": 1, "items": [trusted]}])
    assert "data-untrusted-headers" not in plain and "không tin cậy" not in plain


def line_start(html: str, marker: str) -> str:
    """The text of `html` right after the element holding `marker` opens (tags and spaces skipped)."""
    rest = html[html.index(">", html.index(marker)) + 1 :]
    return re.sub(r"<[^>]*>|\s", "", rest)[:1]


def test_the_operator_pages_lines_start_with_a_capital() -> None:
    """A trial read "đo lúc 21:24:21" alone on its line; the measured time, a dead letter's reason (the first words
    of its "Lý do" cell) and the note of a queue counted without the management API now start with a capital."""
    measured = page(measured_at=datetime(2026, 12, 7, 14, 24, 21, tzinfo=UTC))
    said = measured[measured.index('id="measured-at"') :][:40]
    assert line_start(measured, 'id="measured-at"') == "Đ", said
    for reason in DEATH_REASONS:
        letter = {"event_id": "evt-9", "type": "t", "queue": "meetings.events", "reason": reason}
        item = {**letter, "death_count": 1, "body_bytes": 1, "body_preview": "x"}
        html = page(dead_letters=[{"queue": "meetings.events.dlq", "total": 1, "items": [item]}])
        assert line_start(html, 'class="wrap"').isupper(), (reason, cell(html, 'class="wrap"'))
    queue = {"name": "meetings.ingest", "backlog": None, "messages": 2, "consumers": 1, "source": "declare"}
    service: dict[str, Any] = {"status": "ok", "instances": [], "dead_letters": {}, "outbox": None, "queues": [queue]}
    html = page(services={"meetings": service})
    assert line_start(html, "<small data-backlog-parts").isupper(), cell(html, "data-backlog-parts")
