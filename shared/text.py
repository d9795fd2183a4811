"""Whether a text says something: the one rule for every service (meetings' contracts, evaluation's scores, the
gateway's forms).

DOMAIN.md "How to read it": a text (content, conclusions) counts as recorded only when it holds more than whitespace.
A trial's document title "\u200b\u200b", excused reason "\u00a0 \u200b" and minutes content "\u200b" counted as filled:
Unicode spaces and the characters that show nothing (Unicode's Default_Ignorable_Code_Point) are blank as much as
ASCII spaces are.
"""

import re
import unicodedata
from collections.abc import Callable

import regex

INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u180e")
"""The zero-width characters a page drops (STEERING_CHARS), which are not Unicode whitespace (str.isspace is False):
zero width space, non-joiner, joiner, word joiner, byte order mark (zero width no-break space), Mongolian vowel
separator. Whether a text is blank goes by IGNORABLE, which holds them and every other character that shows nothing."""

IGNORABLE = regex.compile(r"\p{Default_Ignorable_Code_Point}")
"""One character of Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt, as the `regex` module keeps
it): what a renderer shows as nothing, 4,174 code points: INVISIBLE, the bidirectional controls, the invisible
operators U+2061-U+2064, the soft hyphen, variation selectors, the Hangul fillers U+3164 and U+FFA0, tags
U+E0000-U+E0FFF... A hand list missed U+2061-U+2064: a name or title of them alone counted as filled."""


EMOJI = regex.compile(
    r"(\p{Extended_Pictographic}(?:\ufe0f|\p{Emoji_Modifier})?"
    r"(?:\u200d\p{Extended_Pictographic}(?:\ufe0f|\p{Emoji_Modifier})?)*"
    r"(?:[\U000e0020-\U000e007e]+\U000e007f)?"
    r"|[0-9#*]\ufe0f?\u20e3)"
)
"""One emoji as Unicode's emoji sequences write it (UTS #51 ED-14 to ED-17; `regex` keeps the properties): an
Extended_Pictographic character with its presentation selector U+FE0F or skin tone (Emoji_Modifier U+1F3FB-U+1F3FF),
joined to further such ones by U+200D ZERO WIDTH JOINER (the family 👨\u200d👩\u200d👧, 🏳️\u200d🌈), or followed by
tags U+E0020-U+E007E closed by U+E007F (the flag of Scotland); or a keycap (1 U+FE0F U+20E3). A joiner, selector or
tag within one is part of what a person wrote, not a character that hides text: a user trial's family emoji was
stored and shown as three. One captured group, so that EMOJI.split gives text, emoji, text, ..., text."""

JOINING = regex.compile(r"[\u200d\ufe0f\U000e0020-\U000e007f]")
"""A character that only an emoji sequence (EMOJI) keeps where the cleaning of a text drops or trims it: the joiner,
the presentation selector, the tags."""


def keeping_emoji(clean: Callable[[str], str], value: str) -> str:
    """`value` cleaned by `clean` (without_controls, without_steering, echoed's code points) except for its emoji
    sequences (EMOJI), kept whole: a joiner between two emoji stays, a stray one (at an end, doubled, between letters,
    between a letter and an emoji) goes as before. `clean(value)` when it holds no JOINING character."""
    if not JOINING.search(value):
        return clean(value)
    return "".join(part if index % 2 else clean(part) for index, part in enumerate(EMOJI.split(value)))


def emoji_end(value: str, end: int) -> int:
    """`end` (an index into `value`), moved past the emoji sequence (EMOJI) it would cut, if any: trimming the blank
    end of `value` at `end` keeps a whole emoji's trailing selector U+FE0F or closing tag U+E007F."""
    if end >= len(value) or not JOINING.match(value, end):
        return end
    for match in EMOJI.finditer(value, max(0, end - 64), len(value)):
        if match.start() < end < match.end():
            return match.end()
    return end


BLANK_LOOKING = frozenset("\u2800")
"""Characters that are neither Unicode whitespace nor default ignorable yet print as an empty cell: the Braille
pattern blank U+2800 (a symbol, So), which a trial's minutes content of "only spaces" pasted from a chat held and
which was saved as said. Blank as much as a space is (is_blank_char)."""


def is_ignorable(char: str) -> bool:
    """True for a character of Unicode's Default_Ignorable_Code_Point (IGNORABLE): one that shows nothing."""
    return IGNORABLE.match(char) is not None


def is_blank_char(char: str) -> bool:
    """True for a character that shows nothing: Unicode whitespace (U+00A0, U+3000, line breaks...), a default
    ignorable one (is_ignorable: U+200B, U+2062, U+3164...) or one of BLANK_LOOKING (U+2800)."""
    return char.isspace() or char in BLANK_LOOKING or IGNORABLE.match(char) is not None


def has_text(value: str | None) -> bool:
    """True when `value` holds at least one visible character; None, "" and only spaces or default ignorable
    characters (is_blank_char) are blank."""
    if value is None:
        return False
    # str.strip() drops exactly the characters str.isspace() calls space: what is left starts with a visible
    # character unless it starts with an ignorable one (issue 12: a generator per call was 3 % of meetings' samples)
    stripped = value.strip()
    if not stripped:
        return False
    if IGNORABLE.match(stripped) is None and stripped[0] not in BLANK_LOOKING:
        return True
    return not all(is_blank_char(char) for char in stripped)


def said_or_blank(value: str | None) -> str:
    """`value` without its leading and trailing blank characters (is_blank_char: Unicode spaces and default ignorable
    characters), "" when blank."""
    if not has_text(value):
        return ""
    assert value is not None
    start, end = 0, len(value)
    while is_blank_char(value[start]):
        start += 1
    while is_blank_char(value[end - 1]):
        end -= 1
    return value[start : emoji_end(value, end)]


BLANK_SAID = "must hold visible text, not only spaces or invisible characters"
"""What every refusal of a blank text says after its field (`topic: must hold …`): require_text's words, and
shared.envelope.validation_message's for a text left empty once its invisible characters are dropped."""


def require_text(value: str) -> str:
    """A pydantic AfterValidator for a text that must say something: ValueError when `value` is blank (has_text)."""
    if not has_text(value):
        raise ValueError(BLANK_SAID)
    return value


def code_point(char: str) -> str:
    """A character as its Unicode code point, `U+0000` style (four hex digits at least)."""
    return f"U+{ord(char):04X}"


def echoed(value: str) -> str:
    """`value` as a page may say it back to whoever typed it: each control or format character (U+0000, U+202E, ...;
    without_controls' set, line breaks included) and unpaired surrogate shown as its code point `U+XXXX` instead of
    itself, and so is every other character that shows nothing (is_ignorable: a Hangul filler U+3164, a variation
    selector). A trial's period `%00` was echoed as a raw NUL in “…” không phải là một kỳ hợp lệ. An emoji sequence
    (EMOJI: a family joined by U+200D, ❤ U+FE0F) is said back as it is (keeping_emoji)."""
    return keeping_emoji(_code_points, value)


def _code_points(value: str) -> str:
    return "".join(
        char if unicodedata.category(char) not in ("Cf", "Cc", "Cs") and not is_ignorable(char) else code_point(char)
        for char in value
    )


def without_controls(value: str) -> str:
    """`value` without the characters that only steer or hide text: format controls (Unicode category Cf: the
    right-to-left override U+202E and the other bidirectional controls, INVISIBLE's zero-width ones, the soft hyphen)
    and control characters other than line breaks and tabs. A trial's dismissal reason kept a U+202E typed into it,
    which shows the text after it reversed wherever it is read; Vietnamese needs none of them. `value` itself when
    it holds none (str.isprintable is False for every Cf and Cc character): a name, printed or put in a CSV cell, is
    no longer rebuilt character by character (70,000 calls for an evidence CSV of 5,000 members). The joiners and tags
    within an emoji sequence (EMOJI: the family 👨\u200d👩\u200d👧) are kept: they are what the person wrote."""
    if value.isprintable() and INVISIBLE.isdisjoint(value):
        return value
    return keeping_emoji(_without_controls, value)


def _without_controls(value: str) -> str:
    return "".join(
        char
        for char in value
        if char in "\n\r\t" or unicodedata.category(char) not in ("Cf", "Cc") and char not in INVISIBLE
    )


BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""The bidirectional controls: the marks U+061C (Arabic letter mark), U+200E, U+200F, the embeddings and overrides
U+202A-U+202E and the isolates U+2066-U+2069: what turns the text shown after them around."""

STEERING_CHARS = INVISIBLE | BIDI_CONTROLS | frozenset("\u2061\u2062\u2063\u2064\u2065")
"""What a page never prints: BIDI_CONTROLS, INVISIBLE (what hides what is there) and the invisible operators
U+2061-U+2064 with U+2065 (unassigned), which stand between the word joiner and the isolates."""

STEERING = re.compile(f"[{''.join(sorted(STEERING_CHARS))}]")
"""One of STEERING_CHARS."""


def without_steering(value: str) -> str:
    """`value` without STEERING_CHARS (line breaks and everything else kept), `value` itself when it holds none: the
    guard applied to every text a page prints, so it must be cheap: an ASCII text (none of them is ASCII) at once,
    else one regular expression search, not a loop over each character of each value. A joiner within an emoji
    sequence (EMOJI: the family 👨\u200d👩\u200d👧) is kept (keeping_emoji)."""
    if value.isascii() or not STEERING.search(value):
        return value
    return keeping_emoji(_without_steering, value)


def _without_steering(value: str) -> str:
    return STEERING.sub("", value)


CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""The control characters (Unicode Cc) but the tab and line breaks: no HTML text may hold one (a NUL is a parse
error browsers replace), and a terminal obeys them."""


def controls_shown(value: str) -> str:
    """`value` with each control character but tab, CR and LF (CONTROL_CHARS: a NUL, an ESC, DEL, C1) written as its
    code point `U+0000` instead of itself, `value` itself when it holds none: a dead letter's body preview or header,
    sent by anyone, is printed as what it holds, never as raw bytes (one regular expression search when clean)."""
    if not CONTROL_CHARS.search(value):
        return value
    return CONTROL_CHARS.sub(lambda match: code_point(match.group()), value)


def shown_name(value: str) -> str:
    """A member's, unit's or person's name as a person reads it, on a page, in a mail, a CSV or a PDF: without the
    characters that only steer or hide text (without_controls: a right-to-left override U+202E or an isolate left
    open shows the text after the name reversed, a zero-width character hides what the name is), and with its line
    breaks, tabs and runs of spaces as one space, so that it cannot begin a line of its own in a mail. CONTRACT.md
    accepts such names (at most 200 characters, no U+0000 and no unpaired surrogate): they are stored as sent and
    made harmless here, the one place every rendering of a name goes through."""
    return " ".join(without_controls(value).split())


FIRST_STRONG_ISOLATE = "\u2068"
POP_DIRECTIONAL_ISOLATE = "\u2069"
RIGHT_TO_LEFT = frozenset({"R", "AL", "AN"})
"""The bidirectional classes (unicodedata.bidirectional) of the characters that can carry the figures and marks
beside a name into a right-to-left run: Hebrew and other right-to-left letters, Arabic letters, Arabic digits."""


def isolated_name(value: str) -> str:
    """shown_name(value) between U+2068 (first strong isolate) and U+2069 (pop directional isolate): a name set into a
    sentence built in Python, which a page prints with the name in <bdi> (the gateway's core.shown_text turns the pair
    into the tag, after escaping), as templates print `{{ name | name }}`; a right-to-left name then cannot carry the
    words and figures beside it into its own direction."""
    return f"{FIRST_STRONG_ISOLATE}{shown_name(value)}{POP_DIRECTIONAL_ISOLATE}"


def mail_name(value: str) -> str:
    """shown_name(value) as a plain-text mail (or the in-app inbox, which shows the mail's text) sets it into a
    sentence: between U+2068 and U+2069 when it holds a right-to-left letter or an Arabic digit (RIGHT_TO_LEFT), the
    only names that can reorder a left-to-right line; as it is otherwise, so a Vietnamese name's mail holds no
    invisible character for a client without isolates to show as a box or a search to trip over."""
    name = shown_name(value)
    if name.isascii() or not any(unicodedata.bidirectional(char) in RIGHT_TO_LEFT for char in name):
        return name
    return f"{FIRST_STRONG_ISOLATE}{name}{POP_DIRECTIONAL_ISOLATE}"


ISOLATED = re.compile("\u2068([^\u2066-\u2069\n]*)\u2069")
"""A balanced isolate (isolated_name, mail_name) with no other isolate or line break inside."""


def keeping_isolates(clean: Callable[[str], str], value: str) -> str:
    """`value` cleaned by `clean` (without_controls, without_steering: which drop U+2068 and U+2069 too) except for
    the balanced U+2068 … U+2069 pairs ISOLATED finds (a name isolated by isolated_name or mail_name), kept around
    their cleaned text: an isolate left open or a lone U+2069 is dropped with the other controls."""
    if FIRST_STRONG_ISOLATE not in value:
        return clean(value)
    parts = ISOLATED.split(value)  # text, name, text, name, ..., text
    return "".join(
        FIRST_STRONG_ISOLATE + clean(part) + POP_DIRECTIONAL_ISOLATE if index % 2 else clean(part)
        for index, part in enumerate(parts)
    )


def is_ascii_number(value: str | bytes) -> bool:
    """True when `value` is one or more of the digits 0-9: str.isdigit is also True for ٢٠٢٦, ２０２６ and ², which no
    contract field, query or form number is written in (and int('²') fails)."""
    return value.isascii() and value.isdigit()


def with_article(word: str) -> str:
    """`word` after its English indefinite article: `an extraordinary`, `a thematic` (by its first letter, a vowel
    taking `an`): reasons and refusals that name a kind ("not applicable to a extraordinary meeting" in a trial)."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"
