"""A caller scoped to a commune cannot probe which ids exist elsewhere in the province, through the real system.

The user trial: POST /v1/events answered "outside X" for an id existing outside the account's subtree but held an
unknown one, and a monitor from the province committee (above the cell, outside the subtree) was accepted. Here the
gateway and meetings run as real processes: every answer about an id outside the caller's subtree must equal the
answer about an id nobody knows (but for the id), on ingestion and on the read routes alike, while the operator
still reads the real reason.
"""

import json
import re
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.periods import VIETNAM_TZ
from tests.gateway.test_command_bodies import COMMANDS
from tests.support.ids import random_id
from tests.support.system import COMMAND_SECONDS, ROOT, RunningSystem, issue_token

pytestmark = pytest.mark.e2e
FEED = "urn:test:commune-feed"
WEB_FORMS = ["reschedule", "cancel", "documents", "attendance", "minutes", "approval", "assessment", "tasks/t-9/done"]
"""Every form a secretary sends about a meeting (services/gateway/web/pages/secretary.py)."""


def cloudevent(event_type: str, data: dict[str, Any], *, source: str = "urn:test:member-database") -> dict[str, Any]:
    """One CloudEvent as a partner's system would send it."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": source,
        "type": event_type,
        "time": (datetime.now(VIETNAM_TZ) - timedelta(days=1)).isoformat(),
        "datacontenttype": "application/json",
        "data": data,
    }


def unit(unit_id: str, kind: str, parent_id: str | None) -> dict[str, Any]:
    return cloudevent(
        "org.unit.upserted.v1", {"id": unit_id, "name": f"Đơn vị {unit_id[-4:]}", "kind": kind, "parent_id": parent_id}
    )


async def post_events(system: RunningSystem, token: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """POST /v1/events with a batch; each event's outcome."""
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as client:
        response = await client.post(
            "/v1/events",
            content=json.dumps(events, ensure_ascii=False).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/cloudevents-batch+json"},
        )
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


@pytest.fixture(scope="module")
async def province(system: RunningSystem) -> dict[str, str]:
    """Tỉnh ủy → (Đảng ủy xã → thôn 1 with its secretary) and (Đảng ủy phường → khu phố 3 with a member and a
    meeting), fed by the province-wide account; and tokens of the xã's feed, the xã's officer and an operator."""
    names = ("tinh", "xa", "thon1", "phuong", "kp3", "member", "meeting", "secretary")
    ids = {name: random_id(name) for name in names}
    starts = (datetime.now(VIETNAM_TZ) + timedelta(days=10)).replace(microsecond=0).isoformat()
    feed = [
        unit(ids["tinh"], "committee", None),
        unit(ids["xa"], "committee", ids["tinh"]),
        unit(ids["thon1"], "cell", ids["xa"]),
        unit(ids["phuong"], "committee", ids["tinh"]),
        unit(ids["kp3"], "cell", ids["phuong"]),
        secretary_of(ids["thon1"], ids["secretary"]),
        cloudevent(
            "member.upserted.v1",
            {"id": ids["member"], "full_name": "Lê Thị Hoa", "cell_id": ids["kp3"], "status": "official"},
        ),
        cloudevent(
            "meeting.scheduled.v1",
            {
                "meeting_id": ids["meeting"],
                "cell_id": ids["kp3"],
                "kind": "regular",
                "starts_at": starts,
                "location": "Nhà văn hóa khu phố 3",
                "agenda": ["Kiểm điểm nghị quyết tháng trước"],
            },
        ),
    ]
    province_wide = issue_token(system, role="integration", unit=None, sub=random_id("province"), province_wide=True)
    assert [r["outcome"] for r in await post_events(system, province_wide, feed)] == ["accepted"] * len(feed)
    ids["feed_token"] = issue_token(
        system, role="integration", unit=ids["xa"], sub=random_id("commune-feed"), sources=[FEED]
    )
    ids["officer_token"] = issue_token(system, role="committee_officer", unit=ids["xa"], sub=random_id("officer"))
    ids["operator_token"] = issue_token(system, role="operator", unit=None, sub=random_id("operator"))
    return ids


def secretary_of(cell_id: str, person_id: str) -> dict[str, Any]:
    """The member.upserted.v1 event of `person_id`, secretary of `cell_id`: a secretary account stands for them."""
    data = {"id": person_id, "full_name": "Hoàng Văn Thư", "cell_id": cell_id, "status": "official"}
    return cloudevent("member.upserted.v1", data | {"role": "secretary"})


def without(answer: dict[str, Any], identifier: str) -> str:
    """An answer as the caller reads it, the named id blanked and the event's own identity left out."""
    kept = {key: value for key, value in answer.items() if key not in ("id", "source", "index")}
    return json.dumps(kept, sort_keys=True).replace(identifier, "<id>")


Probe = tuple[str, str, Callable[[dict[str, str], str], dict[str, Any]]]
PROBES: list[Probe] = [
    # (what is probed, the id outside, the event's type and data naming it)
    (
        "the trial's monitor from the province committee",
        "tinh",
        lambda ids, x: {
            "type": "monitor.assigned.v1",
            "data": {
                "person_id": random_id("p"),
                "full_name": "Trần Văn Tỉnh",
                "committee_id": x,
                "cell_id": ids["thon1"],
            },
        },
    ),
    (
        "a member of another commune removed",
        "member",
        lambda ids, x: {
            "type": "member.removed.v1",
            "data": {"id": x, "reason": "other", "effective_on": "2026-12-01"},
        },
    ),
    (
        "a cell of another commune",
        "kp3",
        lambda ids, x: {
            "type": "member.upserted.v1",
            "data": {"id": random_id("m"), "full_name": "Phạm Văn Dò", "cell_id": x, "status": "official"},
        },
    ),
    (
        "a meeting of another commune",
        "meeting",
        lambda ids, x: {"type": "meeting.cancelled.v1", "data": {"meeting_id": x, "reason": "Dò thử"}},
    ),
]


async def test_an_id_outside_the_commune_is_answered_as_an_unknown_one(system, province) -> None:  # type: ignore[no-untyped-def]
    ids = province
    events: list[dict[str, Any]] = []
    names: list[str] = []
    for _what, key, build in PROBES:
        unknown = random_id("nobody")
        for named in (ids[key], unknown):
            shape = build(ids, named)
            events.append(cloudevent(shape["type"], shape["data"], source=FEED))
            names.append(named)
    results = await post_events(system, ids["feed_token"], events)
    for index, (what, _key, _build) in enumerate(PROBES):
        outside, nowhere = results[2 * index], results[2 * index + 1]
        assert outside["outcome"] == "held", (what, outside)
        assert without(outside, names[2 * index]) == without(nowhere, names[2 * index + 1]), what
        assert "outside" not in json.dumps(outside), what
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {ids['operator_token']}"}
    ) as client:
        held = (await client.get("/v1/held-events?limit=200")).json()["items"]
    by_event = {item["event_id"]: item for item in held}
    trial = by_event[events[0]["id"]]
    # the operator reads the real reason; the unknown one's hold stays as the caller was told
    assert f"lies outside {ids['xa']}, the only subtree this account may write" in trial["reason"]
    assert by_event[events[1]["id"]]["reason"] == results[1]["reason"]


READS = [
    ("/v1/cells/{}", "kp3"),
    ("/v1/cells/{}/meetings", "kp3"),
    ("/v1/committees/{}", "phuong"),
    ("/v1/committees/{}", "tinh"),
    ("/v1/meetings/{}", "meeting"),
    ("/v1/members/{}/history", "member"),
]


@pytest.mark.parametrize(("template", "key"), READS, ids=[f"{t} {k}" for t, k in READS])
async def test_the_commune_officer_reads_an_id_outside_as_a_missing_one(system, province, template, key) -> None:  # type: ignore[no-untyped-def]
    ids = province
    unknown = random_id("nobody")
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {ids['officer_token']}"}
    ) as client:
        outside = await client.get(template.format(ids[key]))
        missing = await client.get(template.format(unknown))
    assert outside.status_code == missing.status_code == 404, outside.text
    assert outside.text.replace(ids[key], "<id>") == missing.text.replace(unknown, "<id>")


def web_sign_in(system: RunningSystem, *, role: str, unit: str, person: str) -> tuple[str, str]:
    """A web account of `role` at `unit` for `person` made with the gateway's own `web-account` command: (username,
    password)."""
    sub, password = random_id("web"), "mat-khau-thu-2026"
    command = [sys.executable, "-m", "services.gateway", "web-account", "--sub", sub, "--role", role]
    command += ["--unit", unit, "--person", person, "--password", password]
    result = subprocess.run(command, cwd=ROOT, env=system.env, capture_output=True, text=True, timeout=COMMAND_SECONDS)
    assert result.returncode == 0, result.stderr[-3000:]
    return sub, password


async def test_a_secretary_commanding_another_cells_meeting_reads_the_404_of_a_missing_one(system, province) -> None:  # type: ignore[no-untyped-def]
    """The fresh-user trial: a secretary scheduling under the id of another cell's meeting was answered "meeting_id:
    meeting X not found in cell Y; …", a 404 worded otherwise than the one about a meeting id nobody knows, so a
    secretary could tell which ids exist elsewhere. That POST, every command on a meeting of the API and every form
    of the web app answer an id outside the cell with the same plain 404 as an unknown one (the same body but for
    the id)."""
    ids = province
    secretary = issue_token(
        system, role="secretary", unit=ids["thon1"], person=ids["secretary"], sub=random_id("secretary")
    )
    unknown = random_id("nobody")
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {secretary}"}
    ) as client:
        for name, (method, path, _model, _data, body) in COMMANDS.items():
            if "{meeting}" not in path:
                continue  # scheduling names a cell: a new meeting's id is the caller's to choose
            outside = await client.request(method, path.format(meeting=ids["meeting"]), json=body)
            missing = await client.request(method, path.format(meeting=unknown), json=body)
            assert outside.status_code == missing.status_code == 404, (name, outside.text, missing.text)
            assert outside.text.replace(ids["meeting"], "<id>") == missing.text.replace(unknown, "<id>"), name
        starts = (datetime.now(VIETNAM_TZ) + timedelta(days=12)).replace(microsecond=0).isoformat()
        schedule = {"kind": "regular", "starts_at": starts, "location": "Nhà văn hóa", "agenda": ["Kiểm điểm"]}
        # scheduling under another cell's meeting id reads as under an id nobody has: an id outside the cell's naming
        # is refused before any lookup (trial 24 #1: asked after it, one was a 404 and the other a 422)
        taken = await client.post(f"/v1/cells/{ids['thon1']}/meetings", json={**schedule, "meeting_id": ids["meeting"]})
        free = await client.post(f"/v1/cells/{ids['thon1']}/meetings", json={**schedule, "meeting_id": unknown})
        assert taken.status_code == free.status_code == 422, taken.text
        assert taken.text.replace(ids["meeting"], "<id>") == free.text.replace(unknown, "<id>")
    username, password = web_sign_in(system, role="secretary", unit=ids["thon1"], person=ids["secretary"])
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as web:
        form = (await web.get("/app/sign-in")).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf is not None
        signed = await web.post("/app/sign-in", data={"username": username, "password": password, "csrf": csrf[1]})
        assert signed.status_code == 303, signed.text
        home = (await web.get("/app/", follow_redirects=True)).text
        token = re.search(r'name="csrf" value="([^"]+)"', home)  # the session's own, in the page's sign-out form
        assert token is not None, home[-2000:]
        data = {"csrf": token[1]}
        for form_path in WEB_FORMS:
            outside = await web.post(f"/app/meetings/{ids['meeting']}/{form_path}", data=data)
            missing = await web.post(f"/app/meetings/{unknown}/{form_path}", data=data)
            assert outside.status_code == missing.status_code == 404, (form_path, outside.text[-500:])
            assert outside.text.replace(ids["meeting"], "<id>") == missing.text.replace(unknown, "<id>"), form_path
        day = datetime.now(VIETNAM_TZ) + timedelta(days=12)
        schedule_form = {**data, "kind": "regular", "start_date": f"{day:%Y-%m-%d}", "start_time": "19:30"}
        schedule_form |= {"location": "Nhà văn hóa", "agenda": "Kiểm điểm", "meeting_id": ids["meeting"]}
        taken = await web.post(f"/app/cells/{ids['thon1']}/meetings", data=schedule_form)
        free = await web.post(f"/app/cells/{ids['thon1']}/meetings", data={**schedule_form, "meeting_id": unknown})

        def masked(page: str, chosen: str) -> str:
            """The page without the chosen id and the fresh values each render makes (a new id, a form key)."""
            return re.sub(r'(name="(?:meeting_id|form_key)" value=)"[^"]*"', r"\1", page.replace(chosen, "<id>"))

        assert taken.status_code == free.status_code == 422, taken.text[-1500:]
        assert masked(taken.text, ids["meeting"]) == masked(free.text, unknown)


async def web_secretary(system: RunningSystem, cell_id: str, person: str) -> tuple[httpx.AsyncClient, str]:
    """A client signed in to the web app as `person`, a secretary of `cell_id` (a web account made with
    `web-account`), and the session's CSRF token (from the page's sign-out form)."""
    username, password = web_sign_in(system, role="secretary", unit=cell_id, person=person)
    web = httpx.AsyncClient(base_url=system.gateway_url, timeout=30)
    form = (await web.get("/app/sign-in")).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    signed = await web.post("/app/sign-in", data={"username": username, "password": password, "csrf": csrf[1]})
    assert signed.status_code == 303, signed.text
    home = (await web.get("/app/", follow_redirects=True)).text
    token = re.search(r'name="csrf" value="([^"]+)"', home)
    assert token is not None, home[-2000:]
    return web, token[1]


def shown_meeting_id(page: str) -> str:
    """The meeting id a schedule form carries (its hidden field)."""
    found = re.search(r'name="meeting_id" value="([^"]+)"', page)
    assert found is not None, page[-2000:]
    return found[1]


async def test_a_chosen_meeting_id_of_a_cell_extending_the_secretarys_or_a_guessed_mtg_one_is_refused_alike(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """Trial 25. #1: thôn 1's secretary took `<thôn 1>-a-2027-01`, the naming of the cell `<thôn 1>-a` (another
    commune's), whose own feed was then refused for it as another cell's meeting. #2: `mtg-` and 12 hex digits had
    the shape of a generated id, so a secretary sending one khu phố 3 had taken read 404 where a free one was taken.
    Both are now the 422 of any id outside the cell's naming, the same but for the id, on the API and the form; the
    extension cell's feed schedules its meeting; the form of a cell whose id is too long for its naming offers an
    `mtg-` id the gateway made for that cell, which is taken from there and nowhere else."""
    ids = province
    extension = f"{ids['thon1']}-a"
    guessed = f"mtg-{uuid.uuid4().hex[:12]}"
    long_cell = random_id("chi-bo-thon-co-ten-rat-dai-" + "x" * 20)
    assert 53 < len(long_cell) <= 64
    long_secretary = random_id("secretary")
    starts = (datetime.now(VIETNAM_TZ) + timedelta(days=14)).replace(microsecond=0).isoformat()
    taken_by_kp3: dict[str, Any] = {
        "cell_id": ids["kp3"],
        "kind": "thematic",
        "topic": "Chuyển đổi số",
        "starts_at": starts,
    }
    taken_by_kp3 |= {"meeting_id": guessed, "location": "Nhà văn hóa khu phố 3", "agenda": ["Chuyển đổi số"]}
    province_wide = issue_token(system, role="integration", unit=None, sub=random_id("province"), province_wide=True)
    feed = [
        unit(extension, "cell", ids["phuong"]),
        unit(long_cell, "cell", ids["xa"]),
        secretary_of(long_cell, long_secretary),
        cloudevent("meeting.scheduled.v1", taken_by_kp3),
    ]
    assert [r["outcome"] for r in await post_events(system, province_wide, feed)] == ["accepted"] * len(feed)
    secretary = issue_token(
        system, role="secretary", unit=ids["thon1"], person=ids["secretary"], sub=random_id("secretary")
    )
    schedule = {"kind": "regular", "starts_at": starts, "location": "Nhà văn hóa", "agenda": ["Kiểm điểm"]}
    free = random_id("nobody")
    named_after_extension = f"{extension}-2027-01"
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {secretary}"}
    ) as client:
        answers = {}
        for chosen in (guessed, "mtg-000000000000", named_after_extension, free):
            answer = await client.post(f"/v1/cells/{ids['thon1']}/meetings", json={**schedule, "meeting_id": chosen})
            assert answer.status_code == 422, (chosen, answer.text)
            assert answer.json()["reason_code"] == "meeting_id_not_cells", answer.text
            answers[chosen] = answer.text.replace(chosen, "<id>")
        assert len(set(answers.values())) == 1, answers
    # the extension cell's own feed schedules its meeting under its own naming
    source = f"urn:test:{random_id('cell-feed')}"
    extension_feed = issue_token(system, role="integration", unit=extension, sub=random_id("feed"), sources=[source])
    own = {**schedule, "meeting_id": named_after_extension, "cell_id": extension, "location": "Nhà văn hóa 1A"}
    results = await post_events(system, extension_feed, [cloudevent("meeting.scheduled.v1", own, source=source)])
    assert results[0]["outcome"] == "accepted", results
    web, csrf = await web_secretary(system, ids["thon1"], ids["secretary"])
    day = datetime.now(VIETNAM_TZ) + timedelta(days=14)
    form = {"csrf": csrf, "kind": "regular", "start_date": f"{day:%Y-%m-%d}", "start_time": "19:30"}
    form |= {"location": "Nhà văn hóa", "agenda": "Kiểm điểm"}

    def masked(page: str, chosen: str) -> str:
        """The page without the chosen id and the fresh values each render makes (a new id, a form key)."""
        return re.sub(r'(name="(?:meeting_id|form_key)" value=)"[^"]*"', r"\1", page.replace(chosen, "<id>"))

    try:
        pages = {}
        for chosen in (guessed, f"{extension}-2027-02", free):
            page = await web.post(f"/app/cells/{ids['thon1']}/meetings", data={**form, "meeting_id": chosen})
            assert page.status_code == 422, (chosen, page.text[-1500:])
            again = shown_meeting_id(page.text)
            assert again.startswith(f"{ids['thon1']}-") and not again.startswith(f"{extension}-"), again
            pages[chosen] = masked(page.text, chosen)
        assert len(set(pages.values())) == 1
    finally:
        await web.aclose()
    long_web, long_csrf = await web_secretary(system, long_cell, long_secretary)
    try:
        offered = shown_meeting_id((await long_web.get(f"/app/cells/{long_cell}/meetings/new")).text)
        assert re.fullmatch(r"mtg-[0-9a-f]{32}", offered), offered
        async with httpx.AsyncClient(
            base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {secretary}"}
        ) as client:
            elsewhere = await client.post(
                f"/v1/cells/{ids['thon1']}/meetings", json={**schedule, "meeting_id": offered}
            )
        assert elsewhere.status_code == 422 and elsewhere.text.replace(offered, "<id>") == answers[free], elsewhere.text
        sent = await long_web.post(
            f"/app/cells/{long_cell}/meetings", data={**form, "csrf": long_csrf, "meeting_id": offered}
        )
        assert sent.status_code == 303, sent.text[-1500:]
        assert sent.headers["location"] == f"/app/meetings/{offered}/record?notice=scheduled"
    finally:
        await long_web.aclose()
