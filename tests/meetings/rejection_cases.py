"""Every rejection reason of the ingest rules, as (raw event, field named): shared by the fake and end-to-end tests."""

from datetime import datetime, timedelta
from typing import Any

from shared.envelope import GATEWAY_SOURCE
from tests.meetings import events as ev
from tests.support.ids import random_id

WORLD_IDS = ("committee", "cell", "other", "mem", "stranger", "mtg", "cancelled", "elsewhere")


def world_events(ids: dict[str, str], *, start: datetime) -> list[dict[str, Any]]:
    """A committee, two cells with a member each, a scheduled meeting and a cancelled one; a second committee."""
    return [
        ev.unit(ids["committee"], kind="committee", name="Đảng ủy xã"),
        ev.unit(ids["elsewhere"], kind="committee", name="Đảng ủy phường"),
        ev.unit(ids["cell"], parent_id=ids["committee"]),
        ev.unit(ids["other"], parent_id=ids["committee"]),
        ev.member(ids["mem"], ids["cell"]),
        ev.member(ids["stranger"], ids["other"]),
        ev.scheduled(ids["mtg"], ids["cell"], starts_at=start),
        ev.scheduled(ids["cancelled"], ids["cell"], starts_at=start),
        ev.raw_event("meeting.cancelled.v1", {"meeting_id": ids["cancelled"], "reason": "Mưa bão"}, time=ev.BASE_TIME),
    ]


def cases(ids: dict[str, str], *, start: datetime) -> dict[str, tuple[dict[str, Any], str]]:
    """name → (raw event, field the rejection names)."""
    approved = {"meeting_id": ids["cancelled"], "approved_at": start.isoformat()}
    bad_minutes = ev.minutes(ids["mtg"], chair_id=ids["mem"], started_at=start)
    bad_minutes["data"]["ended_at"] = (start - timedelta(minutes=5)).isoformat()
    return {
        "unknown type": (ev.raw_event("meeting.teleported.v1", {"meeting_id": ids["mtg"]}), "type"),
        "missing field": (
            ev.raw_event("meeting.cancelled.v1", {"meeting_id": ids["mtg"]}),
            "data.reason",
        ),
        "bad time": (
            ev.raw_event("meeting.cancelled.v1", {"meeting_id": ids["mtg"], "reason": "x"}, time="hôm nay"),
            "time",
        ),
        "thematic without topic": (
            ev.scheduled(random_id("mtg"), ids["cell"], starts_at=start, kind="thematic", data={"topic": None}),
            "data.topic",
        ),
        "end before start": (bad_minutes, "data.ended_at"),
        # a secretary's commands (the gateway's source) about a cancelled meeting; an integration's are stored
        "approval of a cancelled meeting": (
            ev.raw_event("minutes.approved.v1", approved, source=GATEWAY_SOURCE),
            "data.meeting_id",
        ),
        "attendance of a member of another cell": (
            ev.attendance(ids["mtg"], {ids["mem"]: "present", ids["stranger"]: "present"}),
            "data.records.1.member_id",
        ),
        "minutes chaired by someone outside the cell": (
            ev.minutes(ids["mtg"], chair_id=ids["stranger"], started_at=start),
            "data.chair_id",
        ),
        "member of a committee": (ev.member(random_id("mem"), ids["committee"]), "data.cell_id"),
        "meeting of a committee": (ev.scheduled(random_id("mtg"), ids["committee"], starts_at=start), "data.cell_id"),
        # a user trial's cell with a null parent became a second root, scored but seen by no officer
        "cell without a parent": (
            ev.raw_event(
                "org.unit.upserted.v1", {"id": random_id("cell"), "name": "Chi bộ", "kind": "cell", "parent_id": None}
            ),
            "data.parent_id",
        ),
        "cell whose parent is left out": (
            ev.raw_event("org.unit.upserted.v1", {"id": random_id("cell"), "name": "Chi bộ", "kind": "cell"}),
            "data.parent_id",
        ),
        "known cell moved to the root": (
            ev.raw_event(
                "org.unit.upserted.v1",
                {"id": ids["cell"], "name": "Chi bộ", "kind": "cell", "parent_id": None},
                time=ev.BASE_TIME + timedelta(days=1),
            ),
            "data.parent_id",
        ),
        "unit under a cell": (ev.unit(random_id("cell"), parent_id=ids["cell"]), "data.parent_id"),
        "cell turned committee": (
            ev.unit(ids["cell"], kind="committee", parent_id=ids["committee"], time=ev.BASE_TIME + timedelta(days=1)),
            "data.kind",
        ),
        "committee turned cell": (
            ev.unit(ids["committee"], name="Đảng ủy xã", time=ev.BASE_TIME + timedelta(days=1)),
            "data.kind",
        ),
        "reschedule after the cancellation": (
            ev.raw_event(
                "meeting.rescheduled.v1",
                {"meeting_id": ids["cancelled"], "starts_at": start.isoformat()},
                time=ev.BASE_TIME + timedelta(days=1),
                source=GATEWAY_SOURCE,
            ),
            "data.meeting_id",
        ),
        "attendance of a cancelled meeting": (
            ev.attendance(ids["cancelled"], {ids["mem"]: "present"}, source=GATEWAY_SOURCE),
            "data.meeting_id",
        ),
        "unknown attendance status": (ev.attendance(ids["mtg"], {ids["mem"]: "asleep"}), "data.records.0.status"),
        "minutes adopted a month before the meeting": (
            ev.raw_event(
                "minutes.approved.v1",
                {"meeting_id": ids["mtg"], "approved_at": (start - timedelta(days=30)).isoformat()},
            ),
            "data.approved_at",
        ),
        "member born after the event was sent": (
            ev.member(random_id("mem"), ids["cell"], data={"birth_year": ev.BASE_TIME.year + 1}),
            "data.birth_year",
        ),
        "monitor from a committee not above the cell": (
            ev.raw_event(
                "monitor.assigned.v1",
                {
                    "person_id": random_id("uv"),
                    "full_name": "Trần Văn Phụ",
                    "committee_id": ids["elsewhere"],
                    "cell_id": ids["cell"],
                },
            ),
            "data.committee_id",
        ),
        "member admitted before being born": (
            ev.member(random_id("mem"), ids["cell"], data={"birth_year": 1990, "admitted_on": "1985-03-01"}),
            "data.admitted_on",
        ),
    }


CASE_NAMES = list(cases({key: "x" for key in WORLD_IDS}, start=ev.BASE_TIME))
