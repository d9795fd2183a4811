"""A regular meeting's schedule form asks meetings for the cell's meetings of the month once per submission: its
same-time warning, its another-regular warning and the command's own same-time check share one answer
(commands.one_listing_per_month), where each asked again (three ListMeetings for one form sent); so does the form of
a meeting already held."""

import html
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from services.gateway.bootstrap import GatewayState
from shared.contracts.meetings_rpc import ListMeetings
from shared.periods import VIETNAM_TZ, month_of
from tests.gateway.fakes import World
from tests.gateway.test_forms_again import schedule_form
from tests.gateway.test_idempotency_keys import ingested_at
from tests.gateway.test_minutes_label_pages import csrf_of, signed_in
from tests.support.ids import random_id


async def test_a_regular_meetings_schedule_form_lists_the_month_once(
    client: httpx.AsyncClient,
    world: World,
    state: GatewayState,
    amqp_url: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A regular meeting on the 15th of a month some seven months ahead (no other meeting of the cell near it): the
    form is taken, and meetings was asked for that month's meetings once."""
    asked: list[ListMeetings] = []
    call = state.rpc.call

    async def recorded(request: Any, **kwargs: Any) -> Any:
        if isinstance(request, ListMeetings):
            asked.append(request)
        return await call(request, **kwargs)

    ahead = datetime.now(VIETNAM_TZ) + timedelta(days=210)
    starts = ahead.replace(day=15, hour=19, minute=40, second=0, microsecond=0)
    place = random_id("place")
    async with signed_in(client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1) as secretary:
        form = await schedule_form(secretary, world.cell_a1, place)
        form |= {"kind": "regular", "start_date": f"{starts:%Y-%m-%d}", "start_time": f"{starts:%H:%M}"}
        with monkeypatch.context() as patched:
            patched.setattr(state.rpc, "call", recorded)
            sent = await secretary.post(f"/app/cells/{world.cell_a1}/meetings", data=form)
    assert sent.status_code == 303, sent.text[-2000:]
    assert [event["data"]["kind"] for event in ingested_at(world, place)] == ["regular"]
    assert [(request.cell_id, request.period) for request in asked] == [(world.cell_a1, month_of(starts))], asked


async def test_a_held_regular_meetings_form_warned_of_another_regular_lists_the_month_once(
    client: httpx.AsyncClient,
    world: World,
    state: GatewayState,
    amqp_url: str,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A regular meeting held two days ago recorded while the cell held another regular one two hours after it: the
    form is refused with the another-regular warning, and meetings was asked for that month's meetings once (both
    warnings ask it), and for the next month's once (the later held meeting the warning names)."""
    asked: list[ListMeetings] = []
    call = state.rpc.call

    async def recorded(request: Any, **kwargs: Any) -> Any:
        if isinstance(request, ListMeetings):
            asked.append(request)
        return await call(request, **kwargs)

    held = (datetime.now(VIETNAM_TZ) - timedelta(days=2)).replace(hour=6, minute=17, second=0, microsecond=0)
    other = random_id("mtg")
    world.meetings[other] = world._meeting(other, world.cell_a1) | {
        "status": "minutes_submitted",
        "starts_at": (held + timedelta(hours=2)).isoformat(),
        "location": "Hội trường khu phố",
    }
    try:
        async with signed_in(
            client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1
        ) as secretary:
            shown = (await secretary.get(f"/app/cells/{world.cell_a1}/meetings/held")).text
            form = {
                "csrf": csrf_of(shown),
                "form_key": random_id("key"),
                "meeting_id": random_id("mtg"),
                "kind": "regular",
                "start_date": f"{held:%Y-%m-%d}",
                "start_time": f"{held:%H:%M}",
                "location": "Nhà văn hóa thôn 1",
                "agenda": "Kiểm điểm nghị quyết tháng trước",
            }
            with monkeypatch.context() as patched:
                patched.setattr(state.rpc, "call", recorded)
                sent = await secretary.post(f"/app/cells/{world.cell_a1}/meetings/held", data=form)
    finally:
        del world.meetings[other]
    said = html.unescape(sent.text)
    assert sent.status_code == 422, said[-2000:]
    assert "Hội trường khu phố" in said and "Vẫn ghi lại: kết quả của tháng" in said, said[-3000:]
    assert "đã tổ chức sau buổi này, sẽ lấy buổi này làm buổi sinh hoạt liền trước" in " ".join(said.split())
    # the month once, and the next once: the warning names the later held meeting whose previous one this becomes
    following = f"{held.year + held.month // 12:04d}-{held.month % 12 + 1:02d}"
    assert [(request.cell_id, request.period) for request in asked] == [
        (world.cell_a1, month_of(held)),
        (world.cell_a1, following),
    ], asked
