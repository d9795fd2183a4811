"""A trial's cell set up on 7 December with an effective time in September: its page said "Được bổ sung ngày
07/12/2026…" under each of September, October and November. The page now says it once, naming the months it
concerns (i18n.late_change_items); each other late change keeps its own note."""

from typing import Any

from services.gateway.web.i18n import late_change_items
from tests.web.test_late_change_note import ADDED, late


def strip(results: dict[str, tuple[float, str]], **other: dict[str, Any]) -> list[dict[str, Any]]:
    """A cell's months: those of `results` (period: score, rating) counted since it was set up late on 5 December,
    those of `other` (period: late change) changed otherwise, and December with no change."""
    months = {period: ADDED | {"new_score": score, "new_rating": rating} for period, (score, rating) in results.items()}
    months |= {period.replace("_", "-"): change for period, change in other.items()}
    return [{"period": period, "late_change": months[period]} for period in sorted(months)] + [
        {"period": "2026-12", "late_change": None}
    ]


def test_months_a_cell_set_up_late_counts_in_share_one_note_naming_them() -> None:
    items = late_change_items(strip({"2026-09": (0.0, "poor"), "2026-10": (0.0, "poor"), "2026-11": (0.0, "poor")}))
    assert items == [
        {
            "periods": ["2026-09", "2026-10", "2026-11"],
            "meeting_id": None,
            "note": "Được bổ sung ngày 05/12/2026, tính từ tháng 9/2026; kết quả tháng 9/2026, tháng 10/2026 và"
            " tháng 11/2026 đều là 0 (Kém).",
        }
    ]


def test_months_with_different_results_are_each_named_with_theirs() -> None:
    [item] = late_change_items(strip({"2026-10": (0.0, "poor"), "2026-11": (85.0, "fair")}))
    assert item["periods"] == ["2026-10", "2026-11"]
    assert item["note"] == (
        "Được bổ sung ngày 05/12/2026, tính từ tháng 10/2026; kết quả tháng 10/2026 là 0 (Kém) và tháng 11/2026 là"
        " 85 (Khá)."
    )


def test_one_month_and_other_late_changes_keep_their_own_notes() -> None:
    recorded = late(85, 92) | {"meeting_id": "mtg-late"}
    items = late_change_items(strip({"2026-11": (0.0, "poor")}, **{"2026_10": recorded}))
    assert [(item["periods"], item["meeting_id"]) for item in items] == [(["2026-10"], "mtg-late"), (["2026-11"], None)]
    assert items[1]["note"] == "Được bổ sung ngày 05/12/2026, tính từ tháng 11/2026; kết quả tháng 11/2026 là 0 (Kém)."
    assert items[0]["note"].startswith("Ghi nhận muộn: kết quả tháng 10/2026 thay đổi ngày")
