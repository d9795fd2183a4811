"""One rule decides whether a text says something (shared.text), for meetings' contracts, evaluation's scores and
the gateway's forms: a trial's document title "\u200b\u200b", excused reason "\u00a0 \u200b" and minutes content
"\u200b" counted as filled."""

import itertools
import unicodedata
from typing import Any

import pytest
from pydantic import ValidationError

from shared.contracts import meetings as contract
from shared.text import (
    BIDI_CONTROLS,
    BLANK_LOOKING,
    INVISIBLE,
    STEERING_CHARS,
    code_point,
    echoed,
    has_text,
    is_blank_char,
    is_ignorable,
    isolated_name,
    keeping_isolates,
    mail_name,
    said_or_blank,
    without_controls,
    without_steering,
)

BLANKS = [
    "",
    " \t\n",
    "\u200b\u200b",
    "\u00a0 \u200b",
    "\u200c\u200d\u2060\ufeff",
    "\u3000\u2003\u180e",
    "\u2061\u2062 \u2063\u2064",  # the invisible operators, in STEERING_CHARS but not blank before
    "\u202e\u2066\u00ad\u034f",  # a bidirectional override and isolate, a soft hyphen, a grapheme joiner
    "\u3164\u115f\ufe0f\U000e0041\U0001d173",  # Hangul fillers, a variation selector, a tag, a musical format
]


@pytest.mark.parametrize("blank", [None, *BLANKS])
def test_spaces_and_zero_width_characters_are_blank(blank: str | None) -> None:
    assert not has_text(blank)
    assert said_or_blank(blank) == ""


def test_a_visible_character_is_text_and_its_blank_edges_are_trimmed() -> None:
    assert has_text("\u200b a")
    assert said_or_blank("\ufeff\u00a0Biên bản\u200b \u2060") == "Biên bản"
    assert said_or_blank("Nội\u200bdung") == "Nội\u200bdung"  # only the edges


@pytest.mark.parametrize("blank", BLANKS[2:])
@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (contract.DocumentItem, {"kind": "content"}, "title"),
        (contract.MeetingCancelled, {"meeting_id": "m-1"}, "reason"),
        (contract.Resolution, {"votes_for": 1, "votes_against": 0, "abstentions": 0}, "text"),
        (contract.Task, {"task_id": "t1", "assignee_id": "dv-1", "due_on": "2026-12-20"}, "description"),
    ],
)
def test_a_required_text_of_only_invisible_characters_is_refused(
    model: Any, data: dict[str, Any], field: str, blank: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data | {field: blank})
    assert [error["loc"] for error in caught.value.errors()] == [(field,)]
    model.model_validate(data | {field: "Nghị quyết"})


def test_a_notice_says_no_reason_for_a_move_whose_reason_is_invisible() -> None:
    """A reschedule reason of zero width characters (Text, optional) is no reason: the notice has no empty
    "Lý do thay đổi" line (notifications reads it with shared.text as the other services do)."""
    from services.notifications.templates import _text_values

    assert _text_values({"reason": "\u200b\u00a0"})["reason_line"] == ""
    assert (
        _text_values({"reason": "\u200bTrùng lịch họp dân\u200b"})["reason_line"]
        == "\nLý do thay đổi: Trùng lịch họp dân."
    )
    assert _text_values({"agenda": ["\u200b", "Kiểm điểm"]})["content_text"].count("- ") == 1


def test_has_text_is_any_character_neither_space_nor_invisible_for_every_mix() -> None:
    alphabet = [" ", "\u00a0", "\u3000", "\n", *sorted(INVISIBLE), "a", "\u0301", "ệ"]
    for length in range(4):
        for chars in itertools.product(alphabet, repeat=length):
            value = "".join(chars)
            assert has_text(value) == any(not char.isspace() and char not in INVISIBLE for char in value), repr(value)


def test_echoed_shows_control_format_and_surrogate_characters_as_code_points_and_keeps_vietnamese() -> None:
    assert echoed("Tháng 11/2026") == "Tháng 11/2026"
    assert echoed("a\x00b\u202ec\ud800d\u200be\n") == "aU+0000bU+202EcU+D800dU+200BeU+000A"


def code_points(*spans: tuple[int, int]) -> frozenset[str]:
    """The characters of each inclusive span of code points."""
    return frozenset(chr(point) for first, last in spans for point in range(first, last + 1))


def test_each_steering_character_is_named_once_and_a_page_drops_exactly_those() -> None:
    """INVISIBLE (blank in has_text) and BIDI_CONTROLS are apart; STEERING_CHARS, what without_steering drops, is both
    and the invisible operators between the word joiner and the isolates, as one pattern named them in ranges."""
    assert code_points((0x200B, 0x200D), (0x2060, 0x2060), (0xFEFF, 0xFEFF), (0x180E, 0x180E)) == INVISIBLE
    bidi = code_points((0x061C, 0x061C), (0x200E, 0x200F), (0x202A, 0x202E), (0x2066, 0x2069))
    assert bidi == BIDI_CONTROLS and not INVISIBLE & BIDI_CONTROLS
    spans = (0x061C, 0x061C), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x2069), (0xFEFF, 0xFEFF)
    assert code_points(*spans) == STEERING_CHARS == INVISIBLE | BIDI_CONTROLS | code_points((0x2061, 0x2065))
    every = "".join(chr(point) for point in range(0x110000) if not 0xD800 <= point <= 0xDFFF)
    kept = without_steering(every)
    assert len(every) - len(kept) == len(STEERING_CHARS) and not STEERING_CHARS & set(kept)


def test_a_name_is_isolated_always_on_a_page_and_in_a_mail_only_when_it_holds_a_right_to_left_character() -> None:
    assert isolated_name("Nguyễn\u202e Văn\nAn") == "\u2068Nguyễn Văn An\u2069"
    assert mail_name("Nguyễn\u202e Văn\nAn") == "Nguyễn Văn An"
    assert mail_name("\u05d0\u05d1 \u202e5") == "\u2068\u05d0\u05d1 5\u2069"
    assert mail_name("\u0661\u0662") == "\u2068\u0661\u0662\u2069"  # Arabic-Indic digits reorder what follows too
    kept = keeping_isolates(without_controls, "a\u2067b \u2068\u05d0\u202e\u2069 c\u2068 d\u2069\u2069")
    assert kept == "ab \u2068\u05d0\u2069 c\u2068 d\u2069"


@pytest.mark.parametrize("clean", ["Nguyễn Thị Hồng Nhung", "Chi bộ thôn 3 — Đảng ủy xã Hòa Bình", "=SUM(A1)", ""])
def test_a_text_without_controls_is_kept_as_it_is(clean: str) -> None:
    """An evidence CSV of 5,000 members called without_controls 70,000 times, each rebuilding its text character by
    character; a text holding no control, format or invisible character is now the value itself."""
    assert without_controls(clean) is clean


@pytest.mark.parametrize("char", ["\u202e", "\u200b", "\u180e", "\x00", "\x7f", "\u00ad", "\u2066"])
def test_a_text_with_a_control_loses_it_and_keeps_its_line_breaks(char: str) -> None:
    assert without_controls(f"An{char}\nBình\t") == "An\nBình\t"


PREPENDED_CONCATENATION_MARKS = code_points(
    (0x0600, 0x0605), (0x06DD, 0x06DD), (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2), (0x110BD, 0x110BD)
) | code_points((0x110CD, 0x110CD))
"""Format characters that show (PropList.txt Prepended_Concatenation_Mark): Unicode leaves them out of the default
ignorable ones, as it does the interlinear annotation marks U+FFF9-U+FFFB and Egyptian hieroglyph format controls."""
OTHER_IGNORABLE = code_points((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x3164, 0x3164), (0xFFA0, 0xFFA0))
"""The assigned characters of PropList.txt Other_Default_Ignorable_Code_Point (the rest of it is unassigned)."""


def test_a_text_is_blank_when_each_character_is_a_space_or_default_ignorable_over_every_code_point() -> None:
    """has_text and said_or_blank read a character as blank when it is Unicode whitespace (str.isspace) or shows
    nothing: Unicode's Default_Ignorable_Code_Point, checked here against its derivation (DerivedCoreProperties.txt:
    format characters and variation selectors, less whitespace and the format characters that show, plus
    Other_Default_Ignorable_Code_Point). A hand list (INVISIBLE) left the invisible operators U+2061-U+2064 visible."""
    every = [chr(point) for point in range(0x110000) if not 0xD800 <= point <= 0xDFFF]
    ignorable = {char for char in every if is_ignorable(char)}
    for char in every:
        category = unicodedata.category(char)
        selector = category == "Mn" and "VARIATION SELECTOR" in unicodedata.name(char, "")
        if category == "Cf" or selector:
            shows = (
                char in PREPENDED_CONCATENATION_MARKS
                or "\ufff9" <= char <= "\ufffb"
                or "\U00013430" <= char <= "\U0001343f"
            )
            assert (char in ignorable) == (not shows and not char.isspace()), code_point(char)
        elif char in ignorable:
            assert category == "Cn" or char in OTHER_IGNORABLE, code_point(char)
    blank = {char for char in every if char.isspace()} | ignorable | BLANK_LOOKING
    assert [char for char in every if has_text(char) == (char in blank)] == []
    assert [char for char in every if is_blank_char(char) != (char in blank)] == []
    for char in blank:  # blank edges of each blank character are trimmed too
        assert not has_text(f"\u2062{char}\u200b") and said_or_blank(f" {char}\u2063a{char}") == "a"
    assert all(map(is_ignorable, STEERING_CHARS)) and all(map(is_ignorable, INVISIBLE))
    assert all(not has_text(char) for char in "\u2061\u2062\u2063\u2064\u3164\ufe0f\U000e0001")
    assert echoed("\u3164a\ufe0f") == "U+3164aU+FE0F"  # said back as code points, as the format characters are
