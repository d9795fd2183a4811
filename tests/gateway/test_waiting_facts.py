"""The secretary is told what other systems sent that waits for them: the meeting page, the record page, the API.

A new user's trial: the electronic member handbook's adoption of the minutes came before the attendance; meetings held
it on the attendance, and the secretary's pages said only "record the attendance first": nothing said that an adoption
was waiting, who sent it, nor that it is applied once the attendance is recorded or refused when its hold runs out.
meetings now answers the held facts with the meeting (`waiting`); the gateway names each sender by the integration
account its source is registered to (else its source) and says it in Vietnamese. meetings' own side: tests/meetings.
"""

from typing import Any

import httpx

from services.gateway.auth import Role
from services.gateway.bootstrap import GatewayState
from services.gateway.handlers import create_account
from tests.gateway.fakes import World
from tests.gateway.test_held_meeting import said
from tests.gateway.test_minutes_label_pages import meetings_of_cell_a1, signed_in
from tests.support.ids import random_id

HELD_AT = "2026-12-05T09:05:00+07:00"
EXPIRES_AT = "2026-12-06T09:05:00+07:00"


def adopted_not_held(meeting: dict[str, Any]) -> dict[str, Any]:
    """The meeting with minutes recorded, no attendance, not adopted."""
    return meeting | {"status": "minutes_submitted", "approved_at": None, "attendance": None}


async def test_the_facts_waiting_for_the_secretary_are_said_on_the_meeting_and_record_pages_and_read_by_the_api(
    client: httpx.AsyncClient,
    headers: dict[str, dict[str, str]],
    world: World,
    state: GatewayState,
    amqp_url: str,
    database_url: str,
) -> None:
    handbook, unnamed, sub = random_id("urn:test:handbook"), random_id("urn:test:feed"), random_id("so-tay-dang-vien")
    await create_account(
        state.accounts,
        secret=state.secret,
        issuer=state.settings.jwt_issuer,
        sub=sub,
        role=Role.INTEGRATION,
        unit_id=world.ward_a,
        person_id=None,
        days=1,
        max_days=state.settings.token_max_days,
        sources=(handbook,),
    )
    times = {"held_at": HELD_AT, "expires_at": EXPIRES_AT}
    adoption = {"type": "minutes.approved.v1", "source": handbook, "event_id": "so-tay-1", "waiting_for": "attendance"}
    completion = {"type": "task.completed.v1", "source": unnamed, "event_id": "feed-7", "waiting_for": "task"}
    facts: list[dict[str, Any]] = [adoption | {"task_id": None} | times, completion | {"task_id": "t-report"} | times]

    def waiting(meeting: dict[str, Any]) -> dict[str, Any]:
        return adopted_not_held(meeting) | {"waiting": facts}

    with meetings_of_cell_a1(world, waiting=waiting, none=adopted_not_held) as made:
        answer = await client.get(f"/v1/meetings/{made['waiting']}", headers=headers["secretary"])
        assert answer.status_code == 200, answer.text
        read = [{**fact, "held_at": fact["held_at"][:19], "expires_at": fact["expires_at"][:19]} for fact in facts]
        shown = [
            {**fact, "held_at": fact["held_at"][:19], "expires_at": fact["expires_at"][:19]}
            for fact in answer.json()["waiting"]
        ]
        assert shown == [read[0] | {"source_name": sub}, read[1] | {"source_name": None}]
        assert (await client.get(f"/v1/meetings/{made['none']}", headers=headers["secretary"])).json()["waiting"] == []

        adopted = (
            f"Việc chi bộ thông qua biên bản do hệ thống {sub} gửi đến lúc 09:05 thứ Bảy, ngày 05/12/2026 đang chờ"
            " kết quả điểm danh: việc thông qua sẽ được ghi nhận ngay khi có kết quả điểm danh. Nếu đến 09:05 Chủ"
            " nhật, ngày 06/12/2026 mà vẫn chưa có kết quả điểm danh, việc thông qua này sẽ bị từ chối và không được"
            " ghi nhận; khi đó, đồng chí tự ghi việc thông qua biên bản sau khi đã ghi kết quả điểm danh."
        )
        completed = (
            f"Việc hoàn thành nhiệm vụ “t-report” do hệ thống có nguồn {unnamed} gửi đến lúc 09:05 thứ Bảy, ngày"
            " 05/12/2026 đang chờ nhiệm vụ này có trong biên bản: việc hoàn thành sẽ được ghi nhận ngay khi biên bản"
            " có nhiệm vụ này được ghi."
        )
        async with signed_in(
            client, amqp_url, database_url, "secretary", world.cell_a1, world.secretary_a1
        ) as secretary:
            for address in (f"/app/meetings/{made['waiting']}", f"/app/meetings/{made['waiting']}/record"):
                page = await secretary.get(address)
                assert page.status_code == 200, page.text
                text = said(page.text)
                assert "Dữ liệu từ hệ thống khác đang chờ ghi nhận" in text, address
                assert adopted in text and completed in text, address
            for address in (f"/app/meetings/{made['none']}", f"/app/meetings/{made['none']}/record"):
                assert 'id="waiting"' not in (await secretary.get(address)).text, address
