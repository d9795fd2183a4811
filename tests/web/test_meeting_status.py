"""A meeting's status reads the same on the cell page's list and on its own page (one label function): a scheduled
meeting with a roster and no minutes says it awaits its minutes on both (the cell page read just "Đã lên lịch")."""

from services.gateway.web.i18n import meeting_status_label


def test_a_scheduled_meeting_with_a_roster_says_it_awaits_its_minutes() -> None:
    assert meeting_status_label("scheduled", True) == "Đã lên lịch (đã điểm danh, đang chờ biên bản)"
    assert meeting_status_label("scheduled", False) == "Đã lên lịch"
    # held meetings (minutes in) and cancelled ones say so, a roster or not
    assert meeting_status_label("minutes_submitted", True) == "Đã ghi biên bản"  # minutes in, published unknown
    assert meeting_status_label("cancelled", True) == "Đã hủy"
