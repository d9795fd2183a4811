"""Two saves of the same meeting's record page arriving at the same instant: the stale-page check (the form's
`was.*` against the meeting as meetings answers it) was the gateway's alone, so both could read the meeting before
either was sent, both pass, both answer "Đã ghi nhận" and the later silently overwrite the earlier. The gateway now
judges and sends one record form of a meeting at a time across its processes (a PostgreSQL advisory lock in its own
database, web.form_locks.one_form_at_a_time): the second save reads what the first recorded and is refused with the
stale-page message.

The interleaving is forced, not hoped for: the gateway runs in-process against the package's database, broker and
services, and its read of the meeting waits until the other save has read it too, or waits in PostgreSQL for the
meeting's form lock (so with the lock the first save goes on alone, and without it both have read before either
sends)."""

import asyncio
import html
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from services.gateway.config import GatewaySettings
from services.gateway.http import alert_rules
from services.gateway.main import create_app
from services.gateway.web.pages import secretary
from shared.envelope import now
from shared.periods import VIETNAM_TZ
from tests.support.running import eventually
from tests.support.system import RunningSystem
from tests.web.conftest import PASSWORD, csrf_of, history_meeting
from tests.web.test_stale_pages import day_and_hour, inputs, meeting_ahead

pytestmark = pytest.mark.e2e

CHANGED = "Buổi sinh hoạt đã được thay đổi sau khi đồng chí mở trang này: hiện bắt đầu lúc "
"""The start of the record page's stale-page message of a move (secretary.MEETING_CHANGED, in Vietnamese)."""

WAITING_FOR_FORM_LOCK = """
    SELECT count(*) FROM pg_locks, hashtextextended($1, 0) AS k
    WHERE locktype = 'advisory' AND NOT granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND classid::bigint = ((k >> 32) & 4294967295) AND objid::bigint = (k & 4294967295)
"""
"""How many sessions wait for the form lock of key $1 (web.form_locks: secretary.FORM_LOCK_PREFIX and the meeting
id, alerts.ALERT_FORM_LOCK_PREFIX and the committee id)."""
ALERT_SETTINGS_LOCK = "gateway.alert-settings:"
"""The key of a committee's alert-settings lock, followed by the committee id (alerts.ALERT_FORM_LOCK_PREFIX)."""
BEING_SAVED = "đang được người khác lưu ngay lúc này. Đồng chí vui lòng tải lại trang rồi thử lại."
"""The end of the message of a form refused while another save held its lock too long (in Vietnamese)."""


@asynccontextmanager
async def in_process_gateway(system: RunningSystem, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Any]:
    """The gateway app, configured as the package's gateway process is (its CHIBO_* environment), run in-process
    with its lifespan: its database, broker and services are the package's."""
    for name, value in system.env.items():
        if name.startswith("CHIBO_"):
            monkeypatch.setenv(name, value)
    app = create_app(GatewaySettings())
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def secretary_client(app: Any, who: str = "secretary") -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of the in-process app, signed in as the demo cell's secretary (or `who`, one of the
    demo's people)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test", timeout=60) as client:
        form = await client.get("/app/sign-in")
        signed = await client.post(
            "/app/sign-in", data={"username": who, "password": PASSWORD, "csrf": csrf_of(form.text)}
        )
        assert signed.status_code == 303, signed.text
        yield client


@asynccontextmanager
async def lock_held(database_url: str, key: str) -> AsyncIterator[None]:
    """The form lock `key` held by another session (as a save in progress on another gateway process holds it)."""
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", key)
        yield
    finally:
        await connection.close()


def read_together(database_url: str, key: str, read: Callable[..., Any]) -> Callable[..., Any]:
    """`read` (secretary.recordable_meeting, alert_rules.get_alert_rules) made to wait, once it has read what the
    form is judged against, until the other save has read it too or waits for the form lock `key` in PostgreSQL."""
    reads: list[str] = []

    async def together(*args: Any, **kwargs: Any) -> Any:
        found = await read(*args, **kwargs)
        reads.append(key)
        connection = await asyncpg.connect(database_url)
        try:

            async def other_read_or_waiting() -> bool:
                return len(reads) >= 2 or bool(await connection.fetchval(WAITING_FOR_FORM_LOCK, key))

            await eventually(other_read_or_waiting, timeout=120, interval=0.02)
        finally:
            await connection.close()
        return found

    return together


async def test_two_moves_saved_at_the_same_instant_the_second_is_refused_as_a_stale_page(
    system: RunningSystem, api: httpx.AsyncClient, province: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    meeting_id, starts = await meeting_ahead(system, province)
    record, path = f"/app/meetings/{meeting_id}/record", f"/app/meetings/{meeting_id}/reschedule"
    days = {1: starts + timedelta(days=1), 2: starts + timedelta(days=2)}
    async with (
        in_process_gateway(system, monkeypatch) as app,
        secretary_client(app) as first,
        secretary_client(app) as second,
    ):
        pages = {1: (await first.get(record)).text, 2: (await second.get(record)).text}
        forms = {
            n: inputs(pages[n], "/reschedule") | {"csrf": csrf_of(pages[n]), **day_and_hour(days[n])} for n in (1, 2)
        }
        database_url = system.env["CHIBO_DATABASE_URL"]
        together = read_together(database_url, secretary.FORM_LOCK_PREFIX + meeting_id, secretary.recordable_meeting)
        monkeypatch.setattr(secretary, "recordable_meeting", together)
        answers = dict(
            zip(
                (1, 2),
                await asyncio.gather(first.post(path, data=forms[1]), second.post(path, data=forms[2])),
                strict=True,
            )
        )
    saved = [n for n, answer in answers.items() if answer.status_code == 303]
    refused = [n for n, answer in answers.items() if answer.status_code == 422]
    said = {n: html.unescape(answer.text) for n, answer in answers.items()}
    # exactly one move is taken; the other, judged after it, is told the meeting changed, with its new start
    assert len(saved) == 1 and len(refused) == 1, ({n: a.status_code for n, a in answers.items()}, said[1][-2000:])
    kept, told = days[saved[0]], said[refused[0]]
    assert re.search(rf"{CHANGED}{kept:%H:%M} [^<]*ngày {kept:%d/%m/%Y} tại [^<]+, vui lòng xem lại\.", told), told[
        -3000:
    ]
    found = (await api.get(f"/v1/meetings/{meeting_id}")).json()["starts_at"]
    assert datetime.fromisoformat(found) == kept


async def test_two_rosters_saved_at_the_same_instant_the_second_is_refused_as_a_stale_page(
    system: RunningSystem, api: httpx.AsyncClient, province: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A meeting begun two hours ago, no roster yet: one page marks everybody present, the other one member absent;
    sent at once, one roster is recorded and the other told the attendance was recorded again meanwhile."""
    starts = (now().astimezone(VIETNAM_TZ) - timedelta(hours=2)).replace(second=0, microsecond=0)
    meeting_id = await history_meeting(system, province["secretary"], "demo-cb-thon-1", starts, agenda="Họp")
    record, path = f"/app/meetings/{meeting_id}/record", f"/app/meetings/{meeting_id}/attendance"
    async with (
        in_process_gateway(system, monkeypatch) as app,
        secretary_client(app) as first,
        secretary_client(app) as second,
    ):
        pages = {1: (await first.get(record)).text, 2: (await second.get(record)).text}
        members = re.findall(r'name="member" value="([^"]+)"', pages[1])
        absent = {1: None, 2: members[2]}

        def roster(n: int) -> dict[str, object]:
            form: dict[str, object] = {
                "csrf": csrf_of(pages[n]),
                "member": members,
                "was.attendance": inputs(pages[n], "/attendance").get("was.attendance", ""),
            }
            form |= {f"status-{member}": "present" for member in members}
            gone = absent[n]
            return form | ({f"status-{gone}": "excused", f"reason-{gone}": "Đi làm ăn xa"} if gone else {})

        together = read_together(
            system.env["CHIBO_DATABASE_URL"], secretary.FORM_LOCK_PREFIX + meeting_id, secretary.recordable_meeting
        )
        monkeypatch.setattr(secretary, "recordable_meeting", together)
        sent = await asyncio.gather(first.post(path, data=roster(1)), second.post(path, data=roster(2)))
        answers = dict(zip((1, 2), sent, strict=True))
    saved = [n for n, answer in answers.items() if answer.status_code == 303]
    refused = [n for n, answer in answers.items() if answer.status_code == 422]
    said = {n: html.unescape(answer.text) for n, answer in answers.items()}
    assert len(saved) == 1 and len(refused) == 1, ({n: a.status_code for n, a in answers.items()}, said[1][-2000:])
    told = said[refused[0]]
    assert "Điểm danh đã được ghi nhận lại sau khi đồng chí mở trang này" in told, told[-3000:]
    secretary_api = {"Authorization": f"Bearer {province['secretary']}"}
    found = (await api.get(f"/v1/meetings/{meeting_id}", headers=secretary_api)).json()
    statuses = {item["member_id"]: item["status"] for item in found["attendance"]["records"]}
    assert statuses == {member: "excused" if member == absent[saved[0]] else "present" for member in members}


async def test_a_save_waiting_too_long_for_another_save_of_the_meeting_is_told_to_reload(
    system: RunningSystem, api: httpx.AsyncClient, province: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The meeting's record-form lock held by another save past CHIBO_FORM_LOCK_WAIT_SECONDS: the move is refused
    with the page saying someone else is saving the meeting, the date and hour typed kept, nothing sent."""
    meeting_id, starts = await meeting_ahead(system, province)
    record, path = f"/app/meetings/{meeting_id}/record", f"/app/meetings/{meeting_id}/reschedule"
    moved = starts + timedelta(days=3)
    monkeypatch.setenv("CHIBO_FORM_LOCK_WAIT_SECONDS", "0.5")
    async with in_process_gateway(system, monkeypatch) as app, secretary_client(app) as client:
        page = (await client.get(record)).text
        form = inputs(page, "/reschedule") | {"csrf": csrf_of(page), **day_and_hour(moved)}
        async with lock_held(system.env["CHIBO_DATABASE_URL"], secretary.FORM_LOCK_PREFIX + meeting_id):
            answer = await client.post(path, data=form)
    told = html.unescape(answer.text)
    assert answer.status_code == 422, (answer.status_code, told[-3000:])
    assert f"Buổi sinh hoạt này {BEING_SAVED}" in told, told[-3000:]
    again = inputs(told, "/reschedule")
    assert (again["start_date"], again["start_time"]) == (f"{moved:%d/%m/%Y}", f"{moved:%H:%M}"), again
    secretary_api = {"Authorization": f"Bearer {province['secretary']}"}
    found = (await api.get(f"/v1/meetings/{meeting_id}", headers=secretary_api)).json()["starts_at"]
    assert datetime.fromisoformat(found) == starts


async def test_two_alert_settings_saved_at_the_same_instant_the_second_is_refused_as_a_stale_page(
    system: RunningSystem, province: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two tabs of the commune's alert settings, both showing "Nhắc lịch" at its value: one sets it 2 hours more,
    the other 4 more, sent at once. One is saved; the other, judged after it, is told the value is now the saved
    one (both answered "Đã lưu." and the later overwrote the earlier)."""
    committee, rule = "demo-xa-hoa-binh", "meeting_reminder"
    page_path, action = f"/app/committees/{committee}/alerts", f"/app/committees/{committee}/alerts/{rule}"
    async with (
        in_process_gateway(system, monkeypatch) as app,
        secretary_client(app, "commune-officer") as first,
        secretary_client(app, "commune-officer") as second,
    ):
        pages = {1: (await first.get(page_path)).text, 2: (await second.get(page_path)).text}
        shown = {n: inputs(pages[n], f"/alerts/{rule}") for n in (1, 2)}
        before = int(str(shown[1]["was.hours_before"]))
        hours = {1: before + 2, 2: before + 4}
        forms = {n: shown[n] | {"hours_before": str(hours[n])} for n in (1, 2)}
        key = ALERT_SETTINGS_LOCK + committee
        together = read_together(system.env["CHIBO_DATABASE_URL"], key, alert_rules.get_alert_rules)
        try:
            with monkeypatch.context() as patched:
                patched.setattr(alert_rules, "get_alert_rules", together)
                sent = await asyncio.gather(first.post(action, data=forms[1]), second.post(action, data=forms[2]))
            answers = dict(zip((1, 2), sent, strict=True))
            saved = [n for n, answer in answers.items() if answer.status_code == 303]
            refused = [n for n, answer in answers.items() if answer.status_code == 422]
            said = {n: html.unescape(answer.text) for n, answer in answers.items()}
            assert len(saved) == 1 and len(refused) == 1, ({n: a.status_code for n, a in answers.items()}, said)
            kept, told = hours[saved[0]], said[refused[0]]
            changed = (
                "Thiết lập cảnh báo này đã được thay đổi sau khi đồng chí mở trang này: "
                f"Số giờ trước giờ sinh hoạt hiện là {kept}. Chưa có gì được lưu"
            )
            assert changed in told, told[-3000:]
            now_shown = html.unescape((await first.get(page_path)).text)
            assert re.search(rf'data-value="hours_before">{kept} ', now_shown), now_shown[-3000:]
        finally:
            # the commune's reminder given back to the level above, as other tests expect it
            latest = (await first.get(page_path)).text
            await first.post(f"{action}/reset", data={"csrf": csrf_of(latest), "what": "hours_before"})


async def test_an_alert_setting_waiting_too_long_for_another_save_is_told_to_reload(
    system: RunningSystem, province: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The commune's alert-settings lock held by another save past CHIBO_FORM_LOCK_WAIT_SECONDS: the rule's form is
    refused saying someone else is saving the settings, the number typed kept, nothing saved."""
    committee, rule = "demo-xa-hoa-binh", "meeting_reminder"
    page_path, action = f"/app/committees/{committee}/alerts", f"/app/committees/{committee}/alerts/{rule}"
    monkeypatch.setenv("CHIBO_FORM_LOCK_WAIT_SECONDS", "0.5")
    async with in_process_gateway(system, monkeypatch) as app, secretary_client(app, "commune-officer") as client:
        page = (await client.get(page_path)).text
        shown = inputs(page, f"/alerts/{rule}")
        before = int(str(shown["was.hours_before"]))
        typed = before + 3
        try:
            async with lock_held(system.env["CHIBO_DATABASE_URL"], ALERT_SETTINGS_LOCK + committee):
                answer = await client.post(action, data=shown | {"hours_before": str(typed)})
            told = html.unescape(answer.text)
            assert answer.status_code == 422, (answer.status_code, told[-3000:])
            assert f"Thiết lập cảnh báo trên trang này {BEING_SAVED}" in told, told[-3000:]
            again = inputs(told, f"/alerts/{rule}")
            assert (again["hours_before"], again["was.hours_before"]) == (str(typed), str(before)), again
            now_shown = html.unescape((await client.get(page_path)).text)
            assert re.search(rf'data-value="hours_before">{before} ', now_shown), now_shown[-3000:]
        finally:
            # should it have been saved, the commune's reminder given back to the level above
            latest = (await client.get(page_path)).text
            await client.post(f"{action}/reset", data={"csrf": csrf_of(latest), "what": "hours_before"})


async def test_a_save_waiting_too_long_for_a_connection_to_lock_with_is_told_to_reload(
    system: RunningSystem, api: httpx.AsyncClient, province: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every connection of the gateway's form-lock pool held by other saves (each waiting for, or holding, a lock):
    the move waits no longer than CHIBO_FORM_LOCK_WAIT_SECONDS for one (it waited without end) and is refused as
    when the lock itself was held too long, the date and hour typed kept, nothing sent."""
    meeting_id, starts = await meeting_ahead(system, province)
    record, path = f"/app/meetings/{meeting_id}/record", f"/app/meetings/{meeting_id}/reschedule"
    moved = starts + timedelta(days=4)
    monkeypatch.setenv("CHIBO_FORM_LOCK_WAIT_SECONDS", "0.5")
    monkeypatch.setenv("CHIBO_DB_POOL_MAX", "2")
    async with in_process_gateway(system, monkeypatch) as app, secretary_client(app) as client:
        page = (await client.get(record)).text
        form = inputs(page, "/reschedule") | {"csrf": csrf_of(page), **day_and_hour(moved)}
        pool: asyncpg.Pool = app.state.gateway.form_locks
        taken = [await pool.acquire() for _ in range(pool.get_max_size())]
        try:
            # bounded here only so that a save waiting without end fails the test instead of hanging it
            answer = await asyncio.wait_for(client.post(path, data=form), timeout=30)
        finally:
            for connection in taken:
                await pool.release(connection)
    told = html.unescape(answer.text)
    assert answer.status_code == 422, (answer.status_code, told[-3000:])
    assert f"Buổi sinh hoạt này {BEING_SAVED}" in told, told[-3000:]
    again = inputs(told, "/reschedule")
    assert (again["start_date"], again["start_time"]) == (f"{moved:%d/%m/%Y}", f"{moved:%H:%M}"), again
    secretary_api = {"Authorization": f"Bearer {province['secretary']}"}
    found = (await api.get(f"/v1/meetings/{meeting_id}", headers=secretary_api)).json()["starts_at"]
    assert datetime.fromisoformat(found) == starts


async def test_two_rules_of_one_committee_saved_at_the_same_instant_are_both_kept(
    system: RunningSystem, province: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two officers' tabs of the commune's alert settings, one changing "Nhắc lịch", the other "Chưa công bố tài
    liệu", sent at once and read together: neither is refused (the stale-page check compares only its own rule's
    values) and both are kept. They are judged one after the other under the committee's lock
    (alerts.ALERT_FORM_LOCK_PREFIX), which stays the committee's: notifications re-plans the subtree's pending jobs
    with every rule's settings on each save, so two saves of different rules at once could leave jobs at the older
    lead time of one of them."""
    committee, rules = "demo-xa-hoa-binh", {1: "meeting_reminder", 2: "documents_missing"}
    page_path = f"/app/committees/{committee}/alerts"
    actions = {n: f"{page_path}/{rule}" for n, rule in rules.items()}
    async with (
        in_process_gateway(system, monkeypatch) as app,
        secretary_client(app, "commune-officer") as first,
        secretary_client(app, "commune-officer") as second,
    ):
        pages = {1: (await first.get(page_path)).text, 2: (await second.get(page_path)).text}
        shown = {n: inputs(pages[n], f"/alerts/{rules[n]}") for n in (1, 2)}
        hours = {n: int(str(shown[n]["was.hours_before"])) + 2 for n in (1, 2)}
        forms = {n: shown[n] | {"hours_before": str(hours[n])} for n in (1, 2)}
        together = read_together(
            system.env["CHIBO_DATABASE_URL"], ALERT_SETTINGS_LOCK + committee, alert_rules.get_alert_rules
        )
        try:
            with monkeypatch.context() as patched:
                patched.setattr(alert_rules, "get_alert_rules", together)
                sent = await asyncio.gather(
                    first.post(actions[1], data=forms[1]), second.post(actions[2], data=forms[2])
                )
            said = [html.unescape(answer.text)[-3000:] for answer in sent]
            assert [answer.status_code for answer in sent] == [303, 303], said
            now_shown = (await first.get(page_path)).text
            kept = {n: inputs(now_shown, f"/alerts/{rules[n]}")["was.hours_before"] for n in (1, 2)}
            assert kept == {n: str(hours[n]) for n in (1, 2)}, kept
        finally:
            # both rules given back to the level above, as other tests expect them
            for n in (1, 2):
                latest = (await first.get(page_path)).text
                await first.post(f"{actions[n]}/reset", data={"csrf": csrf_of(latest), "what": "hours_before"})
