"""The Vietnamese readers' trial (h421) of the web app's wording: one term for a provisional score ("tạm tính",
as every page says it) and a month in a form's error written as everywhere else (i18n.format_period: 2/2026)."""

from pathlib import Path

from services.gateway.web import forms, i18n
from services.gateway.web.pages import alerts
from services.notifications.templates import COLLECTIVE_RULES


def test_the_alert_settings_tick_says_tam_tinh_as_every_page_does() -> None:
    assert i18n._("Also provisional scores") == "Tính cả điểm tạm tính"
    po = (Path(i18n.__file__).parent / "locale/vi/LC_MESSAGES/messages.po").read_text(encoding="utf-8")
    assert "Tính cả điểm tạm thời" not in po and "Điểm đánh giá tạm thời chưa" in po  # "for now", not "provisional"


def test_a_month_a_day_is_not_in_is_written_as_every_month_is() -> None:
    said = forms.not_a_day("day", "30/02/2026")
    assert "tháng 2/2026" in said and "tháng 02/2026" not in said, said
    assert i18n.format_period("2026-02", within=True) == "tháng 2/2026"


def test_each_whole_cell_notice_on_the_alert_settings_names_the_monitor_it_also_goes_to() -> None:
    """notifications sends a whole cell's notices (templates.COLLECTIVE_RULES: the reminder too) to its members and
    its upper-level monitors (MONITOR_BODIES); the settings page said the reminder went to the members alone."""
    for rule in sorted(COLLECTIVE_RULES & set(alerts.RULES)):
        said = i18n._(alerts.RULES[rule][1])
        assert "mọi đảng viên phải dự và cấp ủy viên cấp trên phụ trách" in said, (rule, said)
    assert i18n._(alerts.RULES["meeting_reminder"][1]) == (
        "Nhắc lịch trước giờ sinh hoạt theo số giờ đặt bên dưới: gửi mọi đảng viên phải dự và cấp ủy viên cấp trên "
        "phụ trách."
    )
