"""Vietnamese alphabetical order of the names a person reads (members, cells, committees): the Unicode Collation
Algorithm (pyuca, over the Unicode default table) with the Vietnamese letters of CLDR's `vi` tailoring.

The default table orders by letters first, then accents, then case, so tones are secondary differences and
"Hồ" < "Huỳnh"; but it reads đ, ă, â, ê, ô, ơ and ư as a letter with a mark, where the Vietnamese alphabet has
letters of their own, each right after its base (`&A<ă<â &D<đ &E<ê &O<ô<ơ &U<ư`): Đặng after Dương. pyuca has no
tailoring syntax, so each such letter is given its base's collation element followed by one whose primary weight is
above every letter's: a name with ă at some place sorts after every name with a plain a there. Runs of digits
compare as numbers (thôn 2 before thôn 10).

A person's full name is read as Vietnamese lists read it (person_key): by the given name, its last word, then by the
rest (family and middle names), so Trần Văn An comes before Nguyễn Thị Bình; units keep their whole name's order."""

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any, TypeVar

from pyuca import Collator

VIETNAMESE_LETTERS = {
    # base letter: the letters that follow it, in order, as they are written (NFD, or the one code point of đ)
    "a": ("a\u0306", "a\u0302"),
    "d": ("\u0111",),
    "e": ("e\u0302",),
    "o": ("o\u0302", "o\u031b"),
    "u": ("u\u031b",),
}
AFTER_EVERY_LETTER = 0xFF00
"""Primary weights from here up mark a Vietnamese letter's rank after its base (the default table's, implicit weights
of unassigned code points included, stay below 0xFC00)."""
DIGITS = re.compile(r"([0-9]+)")
T = TypeVar("T")


@cache
def collator() -> Collator:
    """The default table's collator with the Vietnamese letters added (built once: loading the table takes a while)."""
    found = Collator()
    for base, letters in VIETNAMESE_LETTERS.items():
        for rank, letter in enumerate(letters, start=1):
            for case in (str.lower, str.upper):
                _prefix, elements, _rest = found.table.find_prefix([ord(case(base))])
                written = [ord(char) for char in case(letter)]
                found.table.add(written, [*elements, [AFTER_EVERY_LETTER + rank, 0, 0]])
    return found


def name_key(name: str | None) -> tuple[Any, ...]:
    """The sort key of a name in Vietnamese order (D < Đ < E, Hồ < Huỳnh, tones after letters, numbers by value)."""
    parts = DIGITS.split((name or "").strip())
    # split() alternates text and digits, so the same position holds the same kind in every key
    return tuple(int(part) if index % 2 else collator().sort_key(part) for index, part in enumerate(parts))


def by_name(items: Iterable[T], name: Any) -> list[T]:
    """The items in Vietnamese order of `name(item)`."""
    return sorted(items, key=lambda item: name_key(name(item)))


def by_name_values(items: Mapping[str, T], name: Any) -> dict[str, T]:
    """The mapping re-ordered by `name(value)` in Vietnamese order (as the pages iterate it)."""
    return dict(sorted(items.items(), key=lambda pair: name_key(name(pair[1]))))


def person_key(full_name: str | None) -> tuple[Any, ...]:
    """The sort key of a person's full name in Vietnamese order: the given name (the last word) first, then the family
    and middle names before it, each by name_key (Trần Văn An before Nguyễn Thị Bình, Lê An before Trần An)."""
    words = (full_name or "").split()
    return (name_key(words[-1] if words else ""), name_key(" ".join(words[:-1])))


def by_person(items: Iterable[T], name: Any) -> list[T]:
    """The items in Vietnamese order of the person's full name `name(item)` (person_key)."""
    return sorted(items, key=lambda item: person_key(name(item)))


def by_person_values(items: Mapping[str, T], name: Any) -> dict[str, T]:
    """The mapping re-ordered by the person's full name `name(value)` (person_key), as the pages iterate it."""
    return dict(sorted(items.items(), key=lambda pair: person_key(name(pair[1]))))
