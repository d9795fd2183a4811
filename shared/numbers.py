"""Numbers as a Vietnamese reader reads them, the one formatter of every text people read (the gateway's pages, PDFs
and CSV exports, notifications' mails, the backlog line of /health): babel's vi_VN symbols, a decimal comma and a
dot between thousands (`1.234,5`), where Python's default writes `1,234.5` (a Vietnamese reader takes `1.2` for
twelve hundred at a glance, and `1,234` for one and a bit). API JSON fields and logs keep Python's machine form."""

from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from babel import Locale
from babel.numbers import NumberPattern, parse_pattern

LOCALE = "vi_VN"
"""babel's locale whose number symbols every text people read uses."""


def format_number(value: float | int | Decimal | None, digits: int = 1) -> str:
    """`72,5`, `1.234` (Vietnamese decimal comma and thousands dot, at most `digits` decimals, halves rounded up as a
    person rounds the figure they read: 81.05 is `81,1`); an em dash for no value. Give it the exact value (a reply's
    unrounded figure, or `percent`): a figure rounded before (0.5455 for 6/11) and rounded here again reads 54,6%."""
    if value is None:
        return "—"
    return str(_number_pattern(digits).apply(rounded_half_up(value, digits), _vietnamese()))


def rounded_half_up(value: float | int | Decimal, digits: int = 1) -> Decimal:
    """`value` rounded once to `digits` decimals by the rule every shown figure is rounded by (format_number: halves
    up, on the value's shortest decimal text), e.g. for a chart's points, which must read as the text beside them."""
    # the decimal text of the value, not its binary float: round(81.05, 1) is 81.0, since 81.05 is 81.04999... as
    # a float, and a score the API gives as 81.05 (81.0526 rounded) was shown as 81
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


SCORE_DIGITS = 1
"""The decimals every page, PDF, CSV and mail shows a score with (format_number's default: `77,1`)."""


def shown_score(value: float | int | Decimal | None) -> Decimal | None:
    """A score (0..100, exact) as a person reads it: rounded once to SCORE_DIGITS, halves up (rounded_half_up, as
    format_number shows it); None for no score."""
    return None if value is None else rounded_half_up(value, SCORE_DIGITS)


def shown_change(
    old_score: float | int | Decimal | None,
    old_rating: str | None,
    new_score: float | int | Decimal | None,
    new_rating: str | None,
) -> bool:
    """Whether a result (exact score, rating code) reads differently to a person now: its score as shown
    (shown_score: 77.049 → 77.051 is 77,0 → 77,1, a change; 77.01 → 77.04 is 77,0 both, none) or its rating (a band
    crossed at the same shown score, Khá → Tốt at 80,0). The one rule of every late-change note and count people
    read (evaluation's notes and re-score counts, the gateway's wording), never the API's cent."""
    return old_rating != new_rating or shown_score(old_score) != shown_score(new_score)


def percent(share: float | int | Decimal) -> Decimal:
    """A share 0..1 as a percentage, exactly: its shortest decimal text times 100 (`0.0035` is 0.35, where the float
    product 0.0035 * 100 is 0.35000000000000003 and 0.145 * 100 is 14.499999999999998), to be rounded once where it
    is shown (format_number)."""
    return Decimal(str(share)).scaleb(2)


@cache
def _number_pattern(digits: int) -> NumberPattern:
    """babel's parsed `#,##0.#…` pattern for `digits` decimals, parsed once: format_decimal parses its pattern at
    every call, about half its time, and a province's report writes 100,000 figures."""
    return parse_pattern("#,##0" + ("." + "#" * digits if digits else ""))


@cache
def _vietnamese() -> Locale:
    """babel's Vietnamese locale data, looked up once."""
    return Locale.parse(LOCALE)
