"""The years a cell's page offers and where a year outside them goes (services/gateway/web/periods.py)."""

from datetime import datetime

from services.gateway.web.periods import cell_years, nearest_year
from shared.periods import VIETNAM_TZ


def test_a_cell_offers_the_years_it_existed_in_up_to_this_year() -> None:
    """A trial's cell set up in December 2025 was offered 2024; an inactive cell ends with its last year, and a cell
    whose years evaluation does not know yet keeps this year and the two before."""
    this_year = datetime.now(VIETNAM_TZ).year
    assert cell_years("2025-12", None) == [str(year) for year in range(this_year, 2024, -1)]
    assert cell_years("2021-03", "2023-06") == ["2023", "2022", "2021"]
    assert cell_years(f"{this_year + 1}-01", None) == [str(this_year)]  # a first month ahead: this year only
    assert cell_years(None, None) == [str(this_year - offset) for offset in range(3)]


def test_a_year_outside_goes_to_the_nearest() -> None:
    assert nearest_year("1800", earliest="2025", latest="2026") == "2025"
    assert nearest_year("2999", earliest="2025", latest="2026") == "2026"
    assert nearest_year("2025", earliest="2025", latest="2026") == "2025"
