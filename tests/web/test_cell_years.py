"""The years a cell's page offers and where a year outside them goes (services/gateway/web/periods.py)."""

from datetime import datetime

from services.gateway.web.periods import cell_years, offered_years
from shared.periods import VIETNAM_TZ


def test_a_cell_offers_the_years_it_existed_in_up_to_this_year() -> None:
    """A trial's cell set up in December 2025 was offered 2024; an inactive cell ends with its last year, and a cell
    whose years evaluation does not know yet keeps this year and the two before."""
    this_year = datetime.now(VIETNAM_TZ).year
    assert cell_years("2025-12", None) == [str(year) for year in range(this_year, 2024, -1)]
    assert cell_years("2021-03", "2023-06") == ["2023", "2022", "2021"]
    assert cell_years(f"{this_year + 1}-01", None) == [str(this_year)]  # a first month ahead: this year only
    assert cell_years(None, None) == [str(this_year - offset) for offset in range(3)]


def test_the_page_offers_the_years_with_meetings_up_to_this_year_only() -> None:
    """A new user's trial in December 2026 was offered 2027, which had nothing: a meeting next January is listed
    among the meetings ahead of this year's page, and next year is not offered."""
    this_year = datetime.now(VIETNAM_TZ).year
    span = [str(this_year), str(this_year - 1)]
    assert offered_years(span, {str(this_year + 1), str(this_year - 3)}) == [*span, str(this_year - 3)]
    assert offered_years([str(this_year)], set()) == [str(this_year)]
