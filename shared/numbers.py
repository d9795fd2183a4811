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
    person rounds the figure they read: 81.05 is `81,1`); an em dash for no value."""
    if value is None:
        return "—"
    # the decimal text of the value, not its binary float: round(81.05, 1) is 81.0, since 81.05 is 81.04999... as
    # a float, and a score the API gives as 81.05 (81.0526 rounded) was shown as 81
    exact = Decimal(str(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return str(_number_pattern(digits).apply(exact, _vietnamese()))


@cache
def _number_pattern(digits: int) -> NumberPattern:
    """babel's parsed `#,##0.#…` pattern for `digits` decimals, parsed once: format_decimal parses its pattern at
    every call, about half its time, and a province's report writes 100,000 figures."""
    return parse_pattern("#,##0" + ("." + "#" * digits if digits else ""))


@cache
def _vietnamese() -> Locale:
    """babel's Vietnamese locale data, looked up once."""
    return Locale.parse(LOCALE)
