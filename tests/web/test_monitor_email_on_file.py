"""The monitoring page warns a monitor without an e-mail address on file as the member's page warns a member: beside
the e-mail choice and in the notice after saving. A monitor is mailed at their monitor assignments' address
(notifications' email_on_file reads it), and /app/monitoring said nothing after saving "Thư điện tử" without one."""

import re
from types import SimpleNamespace
from typing import Any

import pytest

from services.gateway.auth import Role
from services.gateway.web.core import environment
from services.gateway.web.pages.member import CHANNELS

NO_EMAIL = "Chưa có địa chỉ thư điện tử trong hồ sơ"
PREFERENCES = {"recipient_id": "uv1", "channels": ["email", "inbox"], "digest": False, "available_channels": ["email"]}


def monitoring_page(*, preferences: dict[str, Any], notice: str | None = None) -> str:
    """/app/monitoring's words for a monitor following no cell yet, with these preferences, tags dropped."""
    html = (
        environment()
        .get_template("monitoring.html")
        .render(
            viewer=SimpleNamespace(
                role=Role.COMMITTEE_OFFICER, account=SimpleNamespace(sub="uv1"), csrf="t", principal=None
            ),
            cells=[],
            inbox=[],
            preferences=preferences,
            channels=CHANNELS,
            errors={},
            notice=notice,
        )
    )
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_a_monitor_without_an_email_address_is_told_after_saving_as_a_member_is() -> None:
    missing = PREFERENCES | {"email_on_file": False}
    saved = monitoring_page(preferences=missing, notice="saved").split("Đã lưu.", 1)[1]
    assert saved.startswith(f" {NO_EMAIL}, nên sẽ không có thông báo nào được gửi qua thư điện tử"), saved[:200]
    beside = monitoring_page(preferences=missing)
    assert f"{NO_EMAIL}, nên sẽ không có thông báo nào được gửi qua thư điện tử" in beside
    assert "lựa chọn thư điện tử vẫn được giữ" in beside
    unticked = monitoring_page(preferences=missing | {"channels": ["inbox"]}, notice="saved")
    assert "Đã lưu. Chưa có" not in unticked and f"{NO_EMAIL}, nên chưa thể gửi" in unticked


@pytest.mark.parametrize("known", [True, None])
def test_nothing_is_said_with_an_address_or_when_not_known(known: bool | None) -> None:
    page = monitoring_page(preferences=PREFERENCES | {"email_on_file": known}, notice="saved")
    assert "Đã lưu." in page and NO_EMAIL not in page
