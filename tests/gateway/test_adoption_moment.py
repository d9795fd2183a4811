"""The adoption form asks when the cell adopted the minutes: a trial's meeting held 05/12/2026 19:30–21:10, recorded
afterwards and adopted from the form on 07/12, printed "được chi bộ thông qua lúc 21:19 thứ Hai, ngày 07/12/2026" in
its minutes PDF, the form having stamped the moment it was sent, while minutes are read and adopted at the meeting
(DOMAIN.md "Meetings": During). The form now shows a date and an hour, the meeting's end until changed; a moment still
ahead is refused naming the input; one before the meeting began is meetings' to refuse (check_approval_moment)."""

from datetime import datetime

import httpx
import pytest
from starlette.datastructures import FormData

from services.gateway.web.forms import FormErrors
from services.gateway.web.pages.secretary import APPROVAL_FORM, _approval_body, adoption_default
from shared.periods import VIETNAM_TZ
from tests.gateway.fakes import World
from tests.gateway.test_minutes_label_pages import signed_in
from tests.gateway.test_unsaved_parts_kept import _multi, browser_sends
from tests.support.ids import random_id

ENDED = datetime(2026, 12, 5, 21, 10, tzinfo=VIETNAM_TZ)
NOW = datetime(2026, 12, 7, 21, 19, tzinfo=VIETNAM_TZ)
MINUTES = {"started_at": "2026-12-05T19:30:00+07:00", "ended_at": "2026-12-05T21:10:00+07:00"}


def body(fields: dict[str, str], *, now: datetime = NOW) -> dict[str, object]:
    """The adoption form's API body for `fields`, judged at `now`, labelled as the form labels its inputs."""
    return _approval_body(FormData(fields), default=ENDED, now=now)


def refused(fields: dict[str, str], *, now: datetime = NOW) -> dict[str, str]:
    """The adoption form's errors for `fields`."""
    with pytest.raises(FormErrors) as caught:
        body(fields, now=now)
    return caught.value.errors


def test_the_adoption_is_the_moment_typed() -> None:
    sent = body({"approved_date": "2026-12-05", "approved_time": "21:05", "votes_for": "9", "votes_against": "0"})
    assert sent == {"approved_at": "2026-12-05T21:05:00+07:00", "votes_for": 9, "votes_against": 0}


def test_a_form_opened_before_the_moment_was_asked_adopts_at_the_meetings_end_not_now() -> None:
    assert body({"votes_for": "9"}) == {"approved_at": ENDED.isoformat(), "votes_for": 9}


def test_the_default_is_the_minutes_end_never_before_the_start() -> None:
    meeting = {"starts_at": "2026-12-05T19:30:00+07:00", "minutes": MINUTES}
    assert adoption_default(meeting) == ENDED
    early = {"starts_at": "2026-12-05T19:30:00+07:00", "minutes": {"ended_at": "2026-12-05T19:00:00+07:00"}}
    assert adoption_default(early) == datetime(2026, 12, 5, 19, 30, tzinfo=VIETNAM_TZ)
    assert adoption_default({"starts_at": None, "minutes": None}) is None


def test_a_moment_still_ahead_is_refused_naming_the_input_to_correct() -> None:
    later_today = refused({"approved_date": "2026-12-07", "approved_time": "22:00", "votes_for": "9"})
    assert later_today == {
        "approved_at": "Giờ thông qua biên bản: 22:00 thứ Hai, ngày 07/12/2026 chưa tới (bây giờ là 21:19 thứ Hai, ngày"
        " 07/12/2026); vui lòng nhập thời điểm chi bộ thông qua biên bản tại buổi sinh hoạt."
    }
    tomorrow = refused({"approved_date": "2026-12-08", "approved_time": "08:00", "votes_for": "9"})
    assert tomorrow["approved_at"].startswith("Ngày thông qua biên bản: 08:00 thứ Ba, ngày 08/12/2026 chưa tới"), (
        tomorrow
    )


def test_empty_inputs_are_asked_for_with_the_votes_all_at_once() -> None:
    errors = refused({"approved_date": "", "approved_time": "", "votes_for": ""})
    assert errors["approved_at"] == (
        "Ngày thông qua biên bản: không được để trống. Giờ thông qua biên bản: không được để trống."
    ), errors
    assert errors["votes_for"] == "Tán thành: không được để trống.", errors
    assert APPROVAL_FORM.order.index("approved_at") < APPROVAL_FORM.order.index("votes_for")


async def test_the_form_shows_the_meetings_end_and_sends_it(
    client: httpx.AsyncClient, world: World, amqp_url: str, database_url: str
) -> None:
    meeting_id = random_id("mtg")
    world.meetings[meeting_id] = world._meeting(meeting_id, world.cell_a1) | {
        "status": "minutes_submitted",
        "starts_at": "2026-12-05T19:30:00+07:00",
        "minutes": MINUTES,
        "approved_at": None,
        "tasks": [],
    }
    try:
        async with signed_in(
            client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1
        ) as secretary:
            page = (await secretary.get(f"/app/meetings/{meeting_id}/record")).text
            # the record page is one form: the adoption's button sends it whole to /approval (its part's inputs
            # among the others', none of them typed)
            target, pairs = browser_sends(page, "/approval", {"votes_for": "1"})
            drawn = dict(pairs)
            assert (drawn.get("approved_date"), drawn.get("approved_time")) == ("2026-12-05", "21:10"), drawn
            assert '<label for="a-date">Ngày thông qua biên bản</label>' in page
            assert '<label for="a-time">Giờ thông qua biên bản</label>' in page
            assert target == f"/app/meetings/{meeting_id}/approval", target
            sent = await secretary.post(target, data=_multi(pairs))
            assert sent.status_code == 303, sent.text[-3000:]
    finally:
        world.meetings.pop(meeting_id, None)
    (adopted,) = [
        event
        for event in world.ingested
        if event.get("type") == "minutes.approved.v1" and event["data"]["meeting_id"] == meeting_id
    ]
    assert datetime.fromisoformat(adopted["data"]["approved_at"]) == ENDED, adopted
