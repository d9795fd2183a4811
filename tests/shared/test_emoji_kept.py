"""A person's emoji is kept as typed by every cleaning of person text (shared.text): a user trial's family emoji
👨‍👩‍👧 (U+1F468 U+200D U+1F469 U+200D U+1F467) was stored and shown as three emoji, its zero-width joiners dropped
with the characters that hide text. The joiner, the presentation selector U+FE0F, skin tones and tags stay within an
emoji sequence; a stray one goes as before."""

from typing import Any

import pytest
from pydantic import TypeAdapter

from services.gateway.schemas.common import Name, Text
from services.gateway.web import forms
from shared.text import echoed, has_text, said_or_blank, shown_name, without_controls, without_steering

ZWJ = "\u200d"
FAMILY = f"\U0001f468{ZWJ}\U0001f469{ZWJ}\U0001f467"
SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
EMOJI = [
    pytest.param(FAMILY, id="family"),
    pytest.param(f"\U0001f468\U0001f3fd{ZWJ}\U0001f469\U0001f3fb{ZWJ}\U0001f467\U0001f3ff", id="family-skin-tones"),
    pytest.param(f"\U0001f469\U0001f3fd{ZWJ}\U0001f4bb", id="technologist-skin-tone"),
    pytest.param("\U0001f44d\U0001f3fd", id="skin-tone"),
    pytest.param(f"\U0001f3f3\ufe0f{ZWJ}\U0001f308", id="rainbow-flag"),
    pytest.param(f"\u2764\ufe0f{ZWJ}\U0001f525", id="heart-on-fire"),
    pytest.param(f"\U0001f3cc\ufe0f{ZWJ}\u2640\ufe0f", id="golfer-woman"),
    pytest.param("\U0001f1fb\U0001f1f3", id="flag-vietnam"),
    pytest.param(SCOTLAND, id="flag-scotland-tags"),
    pytest.param("1\ufe0f\u20e3", id="keycap"),
    pytest.param("#\ufe0f\u20e3", id="keycap-hash"),
    pytest.param("\u2764\ufe0f", id="red-heart-selector"),
]
DROPPING = [without_controls, without_steering, shown_name, lambda text: forms.text({"x": text}, "x")]
"""What drops the characters that hide text wherever they are: stored (an API body, a form), printed (a page)."""
CLEANINGS = [*DROPPING, said_or_blank]
"""With what trims blank ends (said_or_blank: a bulk CSV's cell, a notice's reason)."""


@pytest.mark.parametrize("emoji", EMOJI)
@pytest.mark.parametrize("where", ["{}", "Gia đình {} vui", "Chúc mừng {}", "{}\u00a0", "  {}\u200b\n"])
def test_an_emoji_is_kept_whole_by_every_cleaning_of_person_text(emoji: str, where: str) -> None:
    typed = where.format(emoji)
    for clean in CLEANINGS:
        assert emoji in clean(typed), (clean, typed)
    assert emoji in echoed(typed)
    assert has_text(emoji)
    if typed == typed.strip() and "\u200b" not in typed:
        assert forms.dropped_character(typed) is None


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        (f"{ZWJ}{FAMILY}", FAMILY),
        (f"{FAMILY}{ZWJ}", FAMILY),
        (f"Chi bộ {ZWJ}{FAMILY}{ZWJ} thôn 1", f"Chi bộ {FAMILY} thôn 1"),
        (f"a{ZWJ}b", "ab"),
        (f"Ngu{ZWJ}yễn", "Nguyễn"),
        (f"a{ZWJ}\U0001f468", "a\U0001f468"),
        (f"\U0001f468{ZWJ}a", "\U0001f468a"),
        (f"\U0001f468{ZWJ}{ZWJ}\U0001f469", "\U0001f468\U0001f469"),
        (f"\U0001f468{ZWJ} \U0001f469", "\U0001f468 \U0001f469"),
        (f"\U0001f468\u200b{ZWJ}\U0001f469", "\U0001f468\U0001f469"),
        (f"\U0001f468\u202e{ZWJ}\U0001f469", "\U0001f468\U0001f469"),
        (f"1{ZWJ}2", "12"),
        (f"\u202e{FAMILY}\u2066", FAMILY),
    ],
)
def test_a_stray_joiner_or_tag_is_still_dropped(typed: str, kept: str) -> None:
    for clean in DROPPING:
        assert clean(typed) == kept, (clean, typed)


def test_tags_never_closed_are_dropped_where_tags_are() -> None:
    """A page (without_steering) never dropped tags; what is stored (without_controls: format characters) does."""
    assert without_controls("\U0001f3f4\U000e0067\U000e0062 a\U000e007f") == "\U0001f3f4 a"
    assert forms.text({"x": f"{SCOTLAND[:-1]}"}, "x") == "\U0001f3f4"


def test_a_selector_after_a_letter_is_still_trimmed_and_one_after_an_emoji_kept() -> None:
    assert said_or_blank("Tôi \u2764\ufe0f") == "Tôi \u2764\ufe0f"
    assert said_or_blank(f"Cờ {SCOTLAND}") == f"Cờ {SCOTLAND}"
    assert said_or_blank("Tôi a\ufe0f") == "Tôi a"
    assert forms.dropped_character("Tôi a\ufe0f") == (6, "\ufe0f")
    assert said_or_blank(f"\U0001f468{ZWJ}") == "\U0001f468"
    assert not has_text(f"{ZWJ}\ufe0f{ZWJ}")


@pytest.mark.parametrize("kind", [Text, Name])
def test_the_api_reads_a_family_emoji_as_typed(kind: Any) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(kind)
    assert adapter.validate_python(f"Gia đình {FAMILY}") == f"Gia đình {FAMILY}"
    assert adapter.validate_python(f"{ZWJ}Gia{ZWJ}đình {FAMILY}{ZWJ}") == f"Giađình {FAMILY}"


def test_a_name_limit_counts_code_points_so_a_family_emoji_is_five() -> None:
    """Length limits stay counted in code points, as the API's JSON Schema maxLength: a family emoji is 5 of a
    name's 200 (CONTRACT.md), and what is kept is what is counted."""
    adapter: TypeAdapter[Any] = TypeAdapter(Name)
    assert adapter.validate_python(FAMILY * 40) == FAMILY * 40
    with pytest.raises(ValueError, match="at most 200"):
        adapter.validate_python(FAMILY * 40 + "a")
