"""While the notifications service is down, a committee's page, a member's own page and a monitor's page answered
503 "Hệ thống đang bận" as a whole (a trial's officer lost the scores and units of the commune for want of its alert
inbox), although only their inbox, late minutes and notice settings come from notifications. They now show the rest,
with a note in place of what notifications gives, as they already did while evaluation was down."""

import pytest

from tests.support.system import RunningSystem
from tests.web.conftest import PERIOD, figure, signed_in

pytestmark = pytest.mark.e2e

COMMITTEE = f"/app/committees/demo-tinh-uy?period={PERIOD}"
BANNER = "Thông báo và cảnh báo tạm thời chưa hiển thị được"


async def test_the_pages_show_all_but_the_notices_while_notifications_is_down(
    system: RunningSystem, province: dict[str, str]
) -> None:
    async with (
        signed_in(system, "officer") as officer,
        signed_in(system, "member") as member,
        signed_in(system, "monitor") as monitor,
    ):
        before = await officer.get(COMMITTEE)
        assert before.status_code == 200 and BANNER not in before.text and 'id="inbox-unavailable"' not in before.text
        mine = await member.get("/app/me")
        assert mine.status_code == 200 and 'id="preferences-unavailable"' not in mine.text
        system.stop("notifications")
        try:
            page = await officer.get(COMMITTEE)
            assert page.status_code == 200, page.text[-2000:]
            assert BANNER in page.text
            assert 'id="inbox-unavailable"' in page.text and 'id="late-minutes-unavailable"' in page.text
            assert "Không có cảnh báo" not in page.text  # not "no alerts": they cannot be read
            assert figure(page.text, "cells") == figure(before.text, "cells")  # the scores are still there
            assert figure(page.text, "score") == figure(before.text, "score")

            own = await member.get("/app/me")
            assert own.status_code == 200, own.text[-2000:]
            assert BANNER in own.text and 'id="inbox-unavailable"' in own.text
            assert 'id="preferences-unavailable"' in own.text and 'action="/app/me/preferences"' not in own.text
            assert 'id="history"' in own.text and 'id="upcoming"' in own.text  # the member's meetings still shown

            followed = await monitor.get("/app/monitoring")
            assert followed.status_code == 200, followed.text[-2000:]
            assert BANNER in followed.text and 'id="preferences-unavailable"' in followed.text
        finally:
            system.start("notifications")
        again = await officer.get(COMMITTEE)
    assert again.status_code == 200 and BANNER not in again.text and 'id="inbox-unavailable"' not in again.text
