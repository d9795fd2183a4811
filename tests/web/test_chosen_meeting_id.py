"""A schedule form whose meeting id does not begin with the cell's own id is refused on the form in Vietnamese, naming
the field, in the same words whether a start of the id is another unit's id or nobody's (h249's API refusal said
"begins with the id of another unit" only for a real unit, telling a secretary which ids exist outside their scope);
the form comes back with an id of the cell's own, so that sending it again schedules the meeting."""

import html
import re
from datetime import datetime, timedelta

import pytest

from shared.periods import VIETNAM_TZ
from tests.support.system import RunningSystem
from tests.web.conftest import DEMO, csrf_of, free_start, signed_in

pytestmark = pytest.mark.e2e
CELL = "demo-cb-thon-1"
SAID = (
    "Buổi sinh hoạt: mã buổi sinh hoạt tự đặt phải bắt đầu bằng mã của chính chi bộ này (tiếp theo là dấu “-”); "
    "nếu không, hãy để trống để hệ thống tự tạo mã."
)


def text(page: str) -> str:
    """The page's words, tags dropped and entities read."""
    return html.unescape(re.sub(r"\s+", " ", re.sub("<[^>]+>", " ", page)))


def shown_id(page: str) -> str:
    """The meeting id the schedule form carries (its hidden field)."""
    found = re.search(r'name="meeting_id" value="([^"]+)"', page)
    assert found is not None, page[-2000:]
    return found[1]


async def test_a_meeting_id_outside_the_cells_naming_is_refused_alike_on_the_form(
    system: RunningSystem, province: dict[str, str]
) -> None:
    ahead = DEMO.meeting_ahead
    hours = [(21, 10), (22, 25), (23, 40), (17, 55), (16, 20), (14, 45), (13, 10), (11, 35), (10, 0), (8, 25)]
    async with signed_in(system, "secretary") as client:
        # on the demo's meeting day, not begun (it is today when the run began less than a day before it), more than
        # an hour from every meeting of the cell: the shared demo system holds other tests' meetings on that day, some
        # at hours set from the clock, and within the hour of one the form asks whether it is the same meeting
        soon = datetime.now(VIETNAM_TZ) + timedelta(minutes=30)
        candidates = [ahead.replace(hour=h, minute=m) for h, m in hours]
        starts = await free_start(client, province["secretary"], CELL, candidates, after=soon)
    form = {
        "kind": "regular",
        "start_date": f"{starts:%Y-%m-%d}",
        "start_time": f"{starts:%H:%M}",
        "location": "Nhà văn hóa thôn 1",
        "agenda": "Kiểm điểm",
        "confirm_another_regular": "on",  # the month already has the demo's regular meeting
    }
    async with signed_in(system, "secretary") as client:
        shown = (await client.get(f"/app/cells/{CELL}/meetings/new")).text
        assert shown_id(shown).startswith(f"{CELL}-")
        answers = set()
        for chosen in ("demo-cb-cong-an-2027-01", "demo-cb-khong-co-2027-01", "demo-cb-thon-12-2027-01"):
            refused = await client.post(
                f"/app/cells/{CELL}/meetings", data={**form, "csrf": csrf_of(shown), "meeting_id": chosen}
            )
            assert refused.status_code == 422, text(refused.text)[-1500:]
            said = text(refused.text)
            assert SAID in said, said[-1500:]
            assert "demo-cb-cong-an" not in said
            again = shown_id(refused.text)
            assert again.startswith(f"{CELL}-") and again != chosen
            answers.add(said.split("Buổi sinh hoạt: ", 1)[1][:200])
        assert len(answers) == 1, answers
        sent = await client.post(
            f"/app/cells/{CELL}/meetings", data={**form, "csrf": csrf_of(shown), "meeting_id": again}
        )
        assert sent.status_code == 303, text(sent.text)[-1500:]
        assert sent.headers["location"] == f"/app/meetings/{again}/record?notice=scheduled"
