"""The operator's page names every field a rejection can name in Vietnamese: the envelope's attributes and every
field of every type in, nested rows included (derived from the contract models, so a new field fails here until it
has its name); and its lists page on, as the API does, each by its own parameter, keeping where the others are."""

from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.requests import Request

from services.gateway.web import reasons
from services.gateway.web.core import LIST_START_MOST as OFFSET_MOST
from services.gateway.web.core import BadPosition
from services.gateway.web.i18n import translations
from services.gateway.web.pages.operations import SHOWN, _dead_letters_of, list_offsets, pager
from shared.contracts.meetings import TYPES
from shared.envelope import CloudEvent
from shared.rpc import RpcError
from tests.support.contract_fields import contract_fields

ALL_PATHS = sorted({field.path for model in TYPES.values() for field in contract_fields(model)})


def test_the_contract_has_the_fields_this_test_walks() -> None:
    assert {"data.location", "data.reason", "data.records.0.status", "data.items.0.title", "data.assessor.role"} <= set(
        ALL_PATHS
    )


@pytest.mark.parametrize("path", ALL_PATHS)
def test_every_field_of_every_type_in_has_a_vietnamese_label(path: str) -> None:
    label = reasons.field_label(path)
    assert not label.startswith("“"), f"{path} has no Vietnamese name: add it to reasons.DATA_FIELDS"
    for name in path.removeprefix("data.").split("."):
        if not name.isdigit():
            assert translations().gettext(reasons.DATA_FIELDS[name]) != reasons.DATA_FIELDS[name], name


@pytest.mark.parametrize("attribute", sorted(CloudEvent.model_fields))
def test_every_envelope_attribute_has_a_vietnamese_label(attribute: str) -> None:
    assert not reasons.field_label(attribute).startswith("“"), attribute


def test_the_tester_s_fields_and_a_rows_field_read_in_vietnamese() -> None:
    assert reasons.field_label("data.location") == "địa điểm"
    assert reasons.field_label("data.reason") == "lý do"
    assert reasons.field_label("data.records.2.status") == "trạng thái (dòng 3 của danh sách điểm danh)"
    assert reasons.field_label("data.agenda.4") == "chương trình sinh hoạt, dòng 5"
    assert reasons.field_label("data.assessor.role") == "vai trò của người chấm điểm"
    assert reasons.field_label("data.points.preparation.content") == "điểm"
    assert reasons.field_label("data.colour") == "“data.colour”"


def at(query: str) -> Request:
    """A request for the operator's page with this query string."""
    return Request({"type": "http", "query_string": query.encode()})


def page(offset: int, count: int, total: int) -> dict[str, Any]:
    """A page of the API's rejections list."""
    return {"items": [{}] * count, "total": total, "limit": SHOWN, "offset": offset}


def test_the_rejections_list_pages_on_like_the_api() -> None:
    first = pager(page(0, SHOWN, 44), anchor="rejections", parameter="rejections_offset")
    assert first == {
        "first": 1,
        "last": 20,
        "total": 44,
        "start": "/app/operations#rejections",
        "previous": None,
        "next": "/app/operations?rejections_offset=20#rejections",
    }
    last = pager(page(40, 4, 44), anchor="rejections", parameter="rejections_offset")
    assert last is not None and (last["first"], last["last"], last["next"]) == (41, 44, None)
    assert last["previous"] == "/app/operations?rejections_offset=20#rejections"
    second = pager(page(20, SHOWN, 44), anchor="rejections", parameter="rejections_offset")
    assert second is not None and second["previous"] == "/app/operations#rejections"
    assert pager(page(0, 0, 0), anchor="rejections", parameter="rejections_offset") is None
    beyond = pager(page(100_000, 0, 44), anchor="rejections", parameter="rejections_offset")
    assert beyond is not None and beyond["start"] == "/app/operations#rejections"


def test_each_list_pages_on_by_its_own_parameter_and_keeps_where_the_others_are() -> None:
    query = (
        "held_offset=45&dead_letters_offset.evaluation.facts.dlq=20&parked_offset.evaluation="
        "&dead_letters_offset.nothing.dlq=x&notice=purged"
    )
    offsets = list_offsets(at(query))
    assert offsets["held_offset"] == 45 and offsets["dead_letters_offset.evaluation.facts.dlq"] == 20  # any item
    # none, or empty: the first page
    assert offsets["parked_offset.evaluation"] == offsets["parked_offset.meetings"] == offsets["rejections_offset"] == 0
    assert {"dead_letters_offset.meetings.ingest.dlq", "parked_offset.notifications"} <= offsets.keys()
    assert "dead_letters_offset.nothing.dlq" not in offsets and "notice" not in offsets

    rejections = pager(page(0, SHOWN, 44), anchor="rejections", parameter="rejections_offset", offsets=offsets)
    assert rejections is not None and rejections["next"] == (
        "/app/operations?held_offset=45&rejections_offset=20&dead_letters_offset.evaluation.facts.dlq=20#rejections"
    )
    parked = pager(
        page(0, SHOWN, 25), anchor="parked-evaluation", parameter="parked_offset.evaluation", offsets=offsets
    )
    assert parked is not None and parked["next"] == (
        "/app/operations?held_offset=45&dead_letters_offset.evaluation.facts.dlq=20&parked_offset.evaluation=20"
        "#parked-evaluation"
    )
    dead = pager(
        page(20, 5, 25),
        anchor="dead-letters-evaluation.facts.dlq",
        parameter="dead_letters_offset.evaluation.facts.dlq",
        offsets=offsets,
    )
    assert dead is not None and (dead["first"], dead["last"], dead["next"]) == (21, 25, None)
    assert dead["previous"] == dead["start"] == "/app/operations?held_offset=45#dead-letters-evaluation.facts.dlq"


PARAMETERS = sorted(list_offsets(at("")))


@pytest.mark.parametrize("value", ["-20", "x", "2.5", "+20", " 20", "20 ", "²", "٣", "1e3", "-0"])
@pytest.mark.parametrize("parameter", PARAMETERS)
def test_a_position_that_is_no_whole_number_from_0_is_refused_naming_its_parameter(value: str, parameter: str) -> None:
    """It was the first page, without a word: the operator read page 1 believing it was the page they asked for."""
    with pytest.raises(BadPosition) as refused:
        list_offsets(at(urlencode({"held_offset": "20", parameter: value})))
    assert (refused.value.parameter, refused.value.value) == (parameter, value)
    assert refused.value.what.startswith("danh sách ") and refused.value.back.startswith("/app/operations#")


def test_each_list_is_named_in_vietnamese_when_its_position_is_refused() -> None:
    def refused(parameter: str) -> BadPosition:
        with pytest.raises(BadPosition) as caught:
            list_offsets(at(f"{parameter}=-1"))
        return caught.value

    assert refused("held_offset").what == "danh sách sự kiện tạm giữ"
    assert refused("held_offset").back == "/app/operations#held"
    assert refused("rejections_offset").what == "danh sách sự kiện bị từ chối chưa xử lý"
    dead = refused("dead_letters_offset.evaluation.facts.dlq")
    assert dead.what == "danh sách tin nhắn không xử lý được của evaluation.facts.dlq"
    assert dead.back == "/app/operations#dead-letters-evaluation.facts.dlq"
    parked = refused("parked_offset.evaluation")
    assert (parked.what, parked.back) == (
        "danh sách sự kiện chờ gửi bị gác lại của dịch vụ Chấm điểm",
        "/app/operations#parked-evaluation",
    )
    with pytest.raises(BadPosition) as long:
        list_offsets(at("held_offset=" + "9" * 100 + "x"))
    assert long.value.value == "9" * 39 + "…"  # a long value is cut, not echoed whole


@pytest.mark.parametrize(
    ("value", "offset"),
    [
        ("99999999", OFFSET_MOST),  # was the first page: now past the end, and the page says so
        ("9" * 5000, OFFSET_MOST),  # more digits than int() reads
        (str(OFFSET_MOST + SHOWN), OFFSET_MOST),
        ("00000000000020", 20),  # leading zeros are no size
        ("0", 0),
        ("39", 39),  # any item starts the list: was rounded down to 20 without a word
    ],
)
def test_a_whole_number_past_any_list_is_a_position_past_the_end_not_the_first_page(value: str, offset: int) -> None:
    for parameter in PARAMETERS:
        assert list_offsets(at(f"{parameter}={value}"))[parameter] == offset


async def test_a_queue_its_service_will_not_read_is_shown_as_unreadable_with_its_count_not_left_out() -> None:
    """On RabbitMQ 4 a `.dlq` of an older deployment is not read message by message (409): the page said nothing of
    it (a part whose service does not answer is left out); now it says why, keeping the queue's "send all back" and
    "delete all" forms. A service that does not answer still leaves its part out."""

    async def refused() -> Any:
        raise RpcError("conflict", "evaluation.facts.dlq was declared without chibo's delivery limit", field="queue")

    async def silent() -> Any:
        raise RpcError("unavailable", "evaluation did not answer")

    page = await _dead_letters_of("evaluation.facts.dlq", 7, refused())
    assert page == {"queue": "evaluation.facts.dlq", "total": 7, "offset": 0, "items": [], "unreadable": True}
    assert await _dead_letters_of("evaluation.facts.dlq", 7, silent()) is None
    note = translations().gettext(
        "These dead letters cannot be listed one by one: this queue was created by an older version without the"
        " setting that keeps them when they are read, and this RabbitMQ would delete them after about 20 readings."
        " Send them all back or delete them all; the service then recreates the queue with the setting."
    )
    assert (
        note.startswith("Không thể liệt kê từng tin nhắn không xử lý được")
        and "trả tất cả về hàng đợi hoặc xóa hết" in note
    )


DEAD_LETTER_GLOSSES = {
    "DeadlockDetectedError('deadlock detected')": "bị xung đột",
    "SerializationError('could not serialize access due to concurrent update')": "bị xung đột",
    "UniqueViolationError('duplicate key value violates unique constraint \"meeting_pkey\"')": "lỗi của dịch vụ",
    "ConnectionDoesNotExistError('connection was closed in the middle of operation')": "mất kết nối",
    "TimeoutError()": "quá lâu",
    "LookupError(\"framework ('hd42-2025', '1') is adopted but not stored\")": "bộ tiêu chí",
    "ValueError('Out of range float values are not JSON compliant: nan')": "không ghi được dưới dạng JSON",
    "specversion: Field required": "Không đọc được sự kiện. Thiếu phiên bản CloudEvents (specversion): đây là trường",
    "body: not valid JSON (Expecting value: line 1 column 1 (char 0))": "không phải là một sự kiện JSON hợp lệ",
    "data.starts_at: Input should be a valid datetime": "Không đọc được sự kiện. Thời gian buổi sinh hoạt:",
    "ObjectNotInPrerequisiteStateError('database \"meetings\" is not currently accepting connections')": (
        "Cơ sở dữ liệu không nhận kết nối"
    ),
    "CannotConnectNowError('the database system is starting up')": "Cơ sở dữ liệu không nhận kết nối",
}


@pytest.mark.parametrize(("cause", "gloss"), sorted(DEAD_LETTER_GLOSSES.items()))
def test_a_dead_letters_known_cause_is_glossed_in_vietnamese(cause: str, gloss: str) -> None:
    """The user trial: the operator's page showed a dead letter's cause (`x-chibo-reason`) only as the service wrote
    it, in English. Each known kind of cause gets a short Vietnamese gloss (the raw text stays beside it)."""
    said = reasons.explain_dead_letter(cause)
    assert said is not None and gloss in said, said


def test_every_kind_of_dead_letter_cause_has_its_example_and_a_translation() -> None:
    for pattern, message in reasons.DEAD_LETTER_CAUSES:
        assert any(pattern.search(cause) for cause in DEAD_LETTER_GLOSSES), pattern.pattern
        assert translations().gettext(message) != message, message


@pytest.mark.parametrize("cause", ["KeyError('x')", "something odd happened", "data.nonsense: bad"])
def test_a_dead_letters_unknown_cause_is_said_as_unknown_in_vietnamese_not_left_in_english(cause: str) -> None:
    """An unknown kind had no gloss: the operator read only the English repr. It now gets a Vietnamese line saying the
    reason is not known here (the raw text stays under the technical detail)."""
    assert reasons.explain_dead_letter(cause) == translations().gettext(reasons.UNKNOWN_CAUSE)
    assert translations().gettext(reasons.UNKNOWN_CAUSE).startswith("Dịch vụ không xử lý được tin nhắn này")


@pytest.mark.parametrize("cause", ["", None])
def test_a_dead_letter_without_a_cause_has_no_gloss(cause: str | None) -> None:
    assert reasons.explain_dead_letter(cause) is None
