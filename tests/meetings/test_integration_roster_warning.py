"""A trial: a check-in device sent `attendance.recorded.v1` listing 1 of the cell's 5 members, present; it was taken
without a word and the meeting scored 100 % attendance. CONTRACT.md makes the roster a full one but the event stays
valid (an integration's roster is taken as sent, domain.check_roster_complete), so it is taken, and its answer says
what it lacks: a warning coded `roster_incomplete` naming `data.records`, with the members of the cell at the
meeting's start that it leaves out (the same members a secretary's roster is refused for). On the AMQP route, which
answers nothing, the same warning is published on chibo.events as `ingest.warned.v1`; meetings logs it and counts it
(chibo_ingest_warnings_total). A full roster says nothing.
"""

from typing import Any

from prometheus_client import REGISTRY

from services.gateway.schemas.ingest import IngestOutcomeRead
from shared.envelope import now
from shared.refusals import RefusalCode
from tests.meetings import events as ev
from tests.meetings.feed import feed
from tests.meetings.test_full_roster import cell, full  # noqa: F401 (the cell of five, as a pytest fixture)
from tests.support.running import eventually

CODE = RefusalCode.ROSTER_INCOMPLETE.value


def warned(route: str) -> float:
    """How many roster_incomplete warnings meetings counted on `route` so far."""
    labels = {"route": route, "type": "attendance.recorded.v1", "code": CODE}
    return REGISTRY.get_sample_value("chibo_ingest_warnings_total", labels) or 0.0


async def test_an_integrations_partial_roster_is_taken_and_its_answer_names_the_members_it_lacks(
    cell: dict[str, Any],  # noqa: F811
) -> None:
    ids = cell["ids"]
    before = warned("http")
    one = ev.attendance(ids["mtg"], {ids["m1"]: "present"}, time=now())
    reply = await cell["methods"]["ingest"](events=[one], route="http", account="feed")
    [result] = reply["results"]
    assert result["outcome"] == "accepted", result
    [warning] = result["warnings"]
    assert (warning["code"], warning["field"]) == (CODE, "data.records")
    # every member of the cell at the start it leaves out, exempt and transferred too, in Vietnamese name order
    assert warning["member_ids"] == [ids["m2"], ids["m4"], ids["m3"], ids["m5"]]
    assert warning["missing"] == 4
    assert "data.records" in warning["reason"] and "4" in warning["reason"]
    assert warned("http") == before + 1
    # the gateway's POST /v1/events answer carries it as meetings gave it
    read = IngestOutcomeRead.model_validate(result)
    assert read.warnings is not None and read.warnings[0].member_ids == warning["member_ids"]


async def test_a_dry_run_answers_the_warning_and_counts_nothing(cell: dict[str, Any]) -> None:  # noqa: F811
    ids = cell["ids"]
    before = warned("http")
    one = ev.attendance(ids["mtg"], {ids["m1"]: "present"}, time=now())
    reply = await cell["methods"]["ingest"](events=[one], route="http", account="feed", dry_run=True)
    [result] = reply["results"]
    assert [warning["missing"] for warning in result["warnings"]] == [4], result
    assert warned("http") == before


async def test_an_integrations_full_roster_says_nothing(cell: dict[str, Any]) -> None:  # noqa: F811
    ids = cell["ids"]
    reply = await cell["methods"]["ingest"](
        events=[ev.attendance(ids["mtg"], full(ids), time=now())], route="http", account="feed"
    )
    [result] = reply["results"]
    assert (result["outcome"], result.get("warnings")) == ("accepted", None), result


async def test_on_the_amqp_route_the_warning_is_published(
    cell: dict[str, Any],  # noqa: F811
    meetings_service: str,
    amqp_url: str,
) -> None:
    ids = cell["ids"]
    before = warned("amqp")
    async with feed(amqp_url) as bus:
        roster = ev.attendance(ids["mtg"], {ids["m1"]: "present", ids["m2"]: "absent"}, time=now())
        await bus.publish(roster)
        event = await eventually(lambda: bus.find("ingest.warned.v1", event_id=roster["id"]), timeout=60)
    data = event["data"]
    assert (data["source"], data["type"], data["code"], data["field"]) == (
        roster["source"],
        "attendance.recorded.v1",
        CODE,
        "data.records",
    )
    assert data["member_ids"] == [ids["m4"], ids["m3"], ids["m5"]] and data["missing"] == 3
    assert warned("amqp") == before + 1
