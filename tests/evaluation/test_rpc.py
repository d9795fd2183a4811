"""The evaluation.rpc catalog end to end: the service in-process, facts in on chibo.events, calls over RpcClient."""

import copy
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, cast

import asyncpg
import pytest

from services.evaluation.domain.framework import parse_framework
from shared.contracts import evaluation_rpc as evaluation
from shared.contracts.frameworks import FRAMEWORKS_DIR
from shared.periods import VIETNAM_TZ, next_period
from shared.reasons import ReasonCode, reason_text
from shared.rpc import RpcClient, RpcError
from tests.evaluation.stream import applied_ward, at, cell_history, fact, publish
from tests.evaluation.waiting import applied_and_scored, current_reply
from tests.support.ids import random_id
from tests.support.rpc import ask, evaluation_rpc
from tests.support.running import eventually


@pytest.fixture(scope="module")
async def rpc(amqp_url: str, database_url: str) -> AsyncIterator[RpcClient]:
    """An RpcClient on the test vhost, with the evaluation service serving in this process."""
    async with evaluation_rpc(amqp_url, database_url) as client:
        yield client


@pytest.fixture(scope="module")
async def ward(rpc: RpcClient, amqp_url: str, database_url: str) -> dict[str, str]:
    """A committee with a cell holding four months of meetings and a cell that never met, all applied."""
    return await applied_ward(amqp_url, database_url)


async def rpc_error(call: Any) -> RpcError:
    """The error an RPC call answers with."""
    with pytest.raises(RpcError) as caught:
        await call
    return caught.value


async def test_meeting_score_answers_the_published_score_with_its_explanation(
    rpc: RpcClient, ward: dict[str, str]
) -> None:
    score = await ask(rpc, evaluation.GetMeetingScore(meeting_id=f"{ward['prefix']}-mt4"))
    assert score["meeting_id"] == f"{ward['prefix']}-mt4" and score["cell_id"] == ward["cell_a"]
    # the framework's Vietnamese name beside its id (the meeting page names it; an API client could not)
    shipped = json.loads((FRAMEWORKS_DIR / "hd42-2025.v1.json").read_text(encoding="utf-8"))
    assert score["framework"] == {"id": "hd42-2025", "version": "1", "name": shipped["name"]}
    assert score["framework"]["name"].startswith("Tiêu chí đánh giá chất lượng sinh hoạt chi bộ")
    assert len(score["criteria"]) == 27
    lines = {line["code"]: line for line in score["criteria"]}
    assert lines["results"]["points"] == 20
    assert lines["preparation.committee_met"]["points"] == 0  # April's meeting: the committee did not meet
    assert lines["conduct.thematic_content"]["applicable"] is False
    assert score["rating"] in ("good", "fair", "average", "poor") and 0 <= score["score"] <= 100
    assert score["computed_at"]
    missing = await rpc_error(ask(rpc, evaluation.GetMeetingScore.model_construct(meeting_id=random_id("mtg"))))
    assert (missing.code, missing.field) == ("not_found", "meeting_id")


async def test_a_meeting_scores_reason_parts_are_stored_and_answered_but_not_published(
    rpc: RpcClient, ward: dict[str, str], database_url: str
) -> None:
    """Each line's coded reason parts go into the stored row and come back in the RPC reply intact (English text
    rendered from them); score.meeting.updated.v1 in the outbox keeps only the fields CONTRACT.md fixes."""
    meeting_id = f"{ward['prefix']}-mt4"
    reply = await rpc.call(evaluation.GetMeetingScore(meeting_id=meeting_id))
    conn = await asyncpg.connect(database_url)
    try:
        stored = json.loads(
            await conn.fetchval("SELECT criteria::text FROM evaluation.meeting_score WHERE meeting_id = $1", meeting_id)
        )
        payloads = await conn.fetch(
            "SELECT payload::text AS payload FROM evaluation.outbox"
            " WHERE type = 'score.meeting.updated.v1' AND payload->'data'->>'meeting_id' = $1",
            meeting_id,
        )
    finally:
        await conn.close()
    assert all(line.parts and line.reason == reason_text(line.parts) for line in reply.criteria)
    assert [[part.model_dump(mode="json") for part in line.parts] for line in reply.criteria] == [
        line["parts"] for line in stored
    ]
    codes = {line.code: [part.code for part in line.parts] for line in reply.criteria}
    assert codes["preparation.committee_met"] == [ReasonCode.COMMITTEE_NOT_PREPARED]
    assert codes["attendance"][0] == ReasonCode.ATTENDANCE_RATE
    attendance = next(line for line in reply.criteria if line.code == "attendance").parts[0]
    assert attendance.present is not None and attendance.counted and attendance.rate is not None
    assert payloads, "no score.meeting.updated.v1 in the outbox"
    for row in payloads:
        for line in json.loads(row["payload"])["data"]["criteria"]:
            assert set(line) == {"code", "points", "max", "applicable", "source", "reason"}


async def test_cell_periods_lists_months_quarters_and_the_year(rpc: RpcClient, ward: dict[str, str]) -> None:
    answer = await ask(rpc, evaluation.GetCellPeriods(cell_id=ward["cell_a"], year=2026))
    assert answer["cell_id"] == ward["cell_a"]
    periods = {period["period"]: period for period in answer["periods"]}
    assert {"2026-03", "2026-04", "2026-05", "2026-06", "2026-Q1", "2026-Q2", "2026"} <= set(periods)
    assert periods["2026-Q2"]["thematic_held"] == 1 and periods["2026-Q2"]["regular_held"] == 3
    assert periods["2026-Q1"]["rating"] == "poor" and "no_thematic_meeting" in periods["2026-Q1"]["flags"]
    assert periods["2026-05"]["attendance_rate"] == pytest.approx(4 / 6)
    assert periods["2026-03"]["speaking_rate"] == pytest.approx(3 / 5)
    assert [p["period"] for p in answer["periods"]][-1] == "2026"
    none = await ask(rpc, evaluation.GetCellPeriods(cell_id=ward["cell_a"], year=2019))
    assert (none["cell_id"], none["periods"]) == (ward["cell_a"], [])
    # the months the cell existed in (its span), whatever year is asked: the web's year picker offers only those
    assert (none["first_month"], none["last_month"]) == (answer["first_month"], None)
    assert answer["first_month"] is not None and answer["first_month"] <= "2026-03"


async def test_committee_rollup_and_ranking_name_their_cells(rpc: RpcClient, ward: dict[str, str]) -> None:
    march = {p["period"]: p for p in (await ask(rpc, evaluation.GetCellPeriods(cell_id=ward["cell_a"])))["periods"]}[
        "2026-03"
    ]
    rollup = await ask(rpc, evaluation.GetCommitteeRollup(committee_id=ward["committee"], period="2026-03"))
    assert rollup["committee_id"] == ward["committee"] and rollup["period"] == "2026-03"
    assert rollup["cells"] == 2
    expected = {"good": 0, "fair": 0, "average": 0, "poor": 1}
    expected[march["rating"]] += 1
    assert rollup["by_rating"] == expected
    assert rollup["regularity"] == 0.5
    assert rollup["attendance_rate"] == march["attendance_rate"]
    assert rollup["score"] == pytest.approx(march["score"] / 2)
    assert rollup["trend"] == {"previous_period": "2026-02", "previous_score": 0.0, "score_delta": rollup["score"]}
    assert rollup["weakest"][0] == {
        "cell_id": ward["cell_b"],
        "name": "Chi bộ thôn Đông",
        "score": 0.0,
        "rating": "poor",
        "regular_held": 0,
        "meetings_held": 0,
        "thematic_held": 0,
        "attendance_rate": None,  # nobody counted: no rate, not 0 %
        "speaking_rate": None,
        "late_change": None,  # its months never changed after they closed
        "rating_reason": None,  # Kém by its score's band: nothing lowered it
        "provisional": False,  # no meeting, so no manual item waiting: Kém as it stands
        "quarter_ratings": None,  # a half-year's only (it has no rating of its own)
        "quarter_provisional": None,  # a half-year's only, beside its quarters' ratings
        "quarter_reasons": None,  # a half-year's only: its quarters' rating reasons
        "rank": None,  # a ranking's only
    }
    # the cell that never met is apart from the one that met, for a page to tell "not met yet" from a Kém meeting
    assert rollup["irregular"] == 1 and rollup["met_score"] == pytest.approx(march["score"])
    # only weak cells (Poor, Average) are the weakest: the cell that met is listed only if its March was weak
    weak_a = [ward["cell_a"]] if march["rating"] in ("poor", "average") else []
    assert [cell["cell_id"] for cell in rollup["weakest"]] == [ward["cell_b"], *weak_a]

    ranking = await ask(
        rpc, evaluation.GetCommitteeRanking(committee_id=ward["committee"], period="2026-03", order="desc", limit=10)
    )
    assert ranking["total"] == 2 and ranking["limit"] == 10 and ranking["offset"] == 0
    assert [(item["cell_id"], item["name"]) for item in ranking["items"]] == [
        (ward["cell_a"], "Chi bộ khu phố 1"),
        (ward["cell_b"], "Chi bộ thôn Đông"),
    ]
    assert ranking["items"][0]["score"] == march["score"]
    # the figures officers compare cells by, as the cell's own month gives them
    figures = ("thematic_held", "attendance_rate", "speaking_rate")
    assert [ranking["items"][0][key] for key in figures] == [march[key] for key in figures]
    ascending = await ask(
        rpc, evaluation.GetCommitteeRanking(committee_id=ward["committee"], period="2026-03", order="asc", limit=1)
    )
    assert [item["cell_id"] for item in ascending["items"]] == [ward["cell_b"]] and ascending["total"] == 2

    bad_order = await rpc_error(
        ask(
            rpc,
            # built without validation, so that the service is the one to refuse it
            evaluation.GetCommitteeRanking.model_construct(
                committee_id=ward["committee"], period="2026-03", order=cast(Any, "up")
            ),
        )
    )
    assert (bad_order.code, bad_order.field) == ("invalid", "order")
    bad_period = await rpc_error(
        ask(rpc, evaluation.GetCommitteeRollup.model_construct(committee_id=ward["committee"], period="2026-13"))
    )
    assert (bad_period.code, bad_period.field) == ("invalid", "period")
    unknown = await rpc_error(
        ask(rpc, evaluation.GetCommitteeRollup.model_construct(committee_id=random_id("x"), period="2026"))
    )
    assert (unknown.code, unknown.field) == ("not_found", "committee_id")


async def test_the_weakest_cells_are_never_rated_good_or_fair(rpc: RpcClient, ward: dict[str, str]) -> None:
    periods = {p["period"]: p for p in (await ask(rpc, evaluation.GetCellPeriods(cell_id=ward["cell_a"])))["periods"]}
    good = [period for period, row in periods.items() if row["rating"] in ("good", "fair")]
    assert good, "the history has a Good or Fair period to test with"
    for period in good:
        rollup = await ask(rpc, evaluation.GetCommitteeRollup(committee_id=ward["committee"], period=period))
        assert [cell["cell_id"] for cell in rollup["weakest"]] == [ward["cell_b"]], period
        weak = await ask(
            rpc,
            evaluation.GetCommitteeRanking(
                committee_id=ward["committee"], period=period, order="asc", limit=10, weak_only=True
            ),
        )
        assert [item["cell_id"] for item in weak["items"]] == [ward["cell_b"]] and weak["total"] == 1, period


async def test_the_weakest_cells_that_met_leave_out_a_cell_without_its_meeting(
    rpc: RpcClient, ward: dict[str, str]
) -> None:
    """`met_only` (the web's month in progress): the cell that never met is Poor at 0 but not among the weak cells
    that met; only a month may be asked so."""
    periods = {p["period"]: p for p in (await ask(rpc, evaluation.GetCellPeriods(cell_id=ward["cell_a"])))["periods"]}
    months = [period for period in periods if len(period) == 7 and "Q" not in period]
    for month in months:
        request = evaluation.GetCommitteeRanking(
            committee_id=ward["committee"], period=month, order="asc", limit=10, weak_only=True, met_only=True
        )
        weak = await ask(rpc, request)
        row = periods[month]
        expected = [ward["cell_a"]] if row["rating"] in ("poor", "average") and row["regular_held"] else []
        assert [item["cell_id"] for item in weak["items"]] == expected and weak["total"] == len(expected), month
        assert all(item["regular_held"] > 0 for item in weak["items"])
    for period, weak_only in (("2026-Q1", True), ("2026", True), (months[0], False)):
        request = evaluation.GetCommitteeRanking(
            committee_id=ward["committee"], period=period, order="asc", limit=10, weak_only=weak_only, met_only=True
        )
        error = await rpc_error(ask(rpc, request))
        assert (error.code, error.field) == ("invalid", "met_only"), period


async def test_a_period_not_begun_or_before_any_data_is_not_rated_poor(rpc: RpcClient, ward: dict[str, str]) -> None:
    today = datetime.now(VIETNAM_TZ)
    coming = next_period(f"{today:%Y-%m}")
    for request in (
        evaluation.GetCommitteeRollup(committee_id=ward["committee"], period=coming),
        evaluation.GetCommitteeRanking(committee_id=ward["committee"], period=coming),
        evaluation.GetCommitteeRollup(committee_id=ward["committee"], period=str(today.year + 1)),
    ):
        error = await rpc_error(ask(rpc, request))
        assert (error.code, error.field) == ("invalid", "period") and "has not begun" in error.message
    for period in ("1999-01", "2025-Q4", "2019"):
        error = await rpc_error(ask(rpc, evaluation.GetCommitteeRollup(committee_id=ward["committee"], period=period)))
        assert (error.code, error.field) == ("not_found", "period") and "no data" in error.message, period
    first = await ask(rpc, evaluation.GetCommitteeRollup(committee_id=ward["committee"], period="2026-01"))
    assert first["trend"]["previous_score"] is None and first["trend"]["score_delta"] is None


async def test_a_cell_moved_to_another_committee_leaves_one_rollup_for_the_other(
    rpc: RpcClient, amqp_url: str, database_url: str
) -> None:
    # the roll-ups read a materialized subtree (migration 0005): a newer unit snapshot with another parent moves the
    # cell and its periods' sums at the next read
    left, right, moved, stays = random_id("ward"), random_id("ward"), random_id("cell"), random_id("cell")
    events = cell_history(committee_id=left, cell_id=moved, prefix=random_id("h"))
    events += cell_history(committee_id=right, cell_id=stays, prefix=random_id("h"))
    conn = await asyncpg.connect(database_url)
    try:
        await publish(amqp_url, events)
        ids = [event["id"] for event in events]
        await eventually(lambda: applied_and_scored(conn, event_ids=ids, cell_ids=[moved, stays]), timeout=60)
        before = await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=right, period="2026-05"))
        assert before["cells"] == 1
        move = fact(
            "org.unit.upserted.v1",
            {"id": moved, "name": "Chi bộ khu phố 1", "kind": "cell", "parent_id": right},
            time=at(7, 1, 8),
        )
        await publish(amqp_url, [move])
        await eventually(lambda: applied_and_scored(conn, event_ids=[move["id"]], cell_ids=[moved]), timeout=60)
    finally:
        await conn.close()
    periods = {p["period"]: p for p in (await ask(rpc, evaluation.GetCellPeriods(cell_id=moved)))["periods"]}
    after = await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=right, period="2026-05"))
    assert after["cells"] == 2
    expected = dict(before["by_rating"])
    expected[periods["2026-05"]["rating"]] += 1
    assert after["by_rating"] == expected
    # both scores as answered are unrounded: their mean is the roll-up's, up to float error
    assert after["score"] == pytest.approx((before["score"] + periods["2026-05"]["score"]) / 2)
    ranking = await current_reply(
        rpc, evaluation.GetCommitteeRanking(committee_id=right, period="2026-05", order="desc")
    )
    assert {item["cell_id"] for item in ranking["items"]} == {moved, stays} and ranking["total"] == 2
    # the committee it left has no cell any more: a month it showed the cell in reads no cell and lists the move
    # (h363; docs/architecture.md "A cell moved to another committee"), not Poor; so does its quarter, whose figures
    # the move changed too (h512: before, the quarter noted no move and was unknown); a quarter it never showed the
    # cell in is unknown
    gone = await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=left, period="2026-05"))
    assert gone["cells"] == 0 and [item["cell_id"] for item in gone["late_changes"]] == [moved]
    quarter = await current_reply(rpc, evaluation.GetCommitteeRollup(committee_id=left, period="2026-Q2"))
    assert quarter["cells"] == 0 and [item["cell_id"] for item in quarter["late_changes"]] == [moved]
    unknown = await rpc_error(ask(rpc, evaluation.GetCommitteeRollup(committee_id=left, period="2025-Q2")))
    assert (unknown.code, unknown.field) == ("not_found", "period")


async def test_frameworks_are_listed_read_and_adopted(rpc: RpcClient, ward: dict[str, str]) -> None:
    listed = await ask(rpc, evaluation.ListFrameworks())
    by_id = {(item["id"], item["version"]): item for item in listed["items"]}
    assert listed["total"] == len(listed["items"])
    default = by_id[("hd42-2025", "1")]
    assert default["document_number"] == "42-HD/BTCTW" and default["effective_from"] == "2025-10-28"
    assert {"committee_id": None, "effective_from": "2025-10-28"} in default["adoptions"]
    assert ("hd12-2018", "1") in by_id

    document = await ask(rpc, evaluation.GetFramework(framework_id="hd42-2025"))
    shipped = json.loads((FRAMEWORKS_DIR / "hd42-2025.v1.json").read_text(encoding="utf-8"))
    assert document["versions"] == ["1"]
    stored = {key: value for key, value in document.items() if key != "versions"}
    assert stored == parse_framework(shipped).model_dump(mode="json")
    missing = await rpc_error(ask(rpc, evaluation.GetFramework.model_construct(framework_id=random_id("fw"))))
    assert (missing.code, missing.field) == ("not_found", "framework_id")

    own = copy.deepcopy(shipped) | {
        "id": random_id("fw"),
        "name": "Khung tiêu chí của phường",
        "effective_from": "2026-01-01",
    }
    adopted = await ask(rpc, evaluation.AdoptFramework(document=own, committee_id=ward["committee"]))
    assert adopted["adopted_by"] == ward["committee"] and adopted["id"] == own["id"]
    listed = await ask(rpc, evaluation.ListFrameworks())
    mine = next(item for item in listed["items"] if item["id"] == own["id"])
    assert mine["adoptions"] == [{"committee_id": ward["committee"], "effective_from": "2026-01-01"}]

    broken = copy.deepcopy(own)
    broken["groups"][0]["items"][0]["max"] = "năm"
    invalid = await rpc_error(ask(rpc, evaluation.AdoptFramework.model_construct(document=broken)))
    assert invalid.code == "invalid" and invalid.field == "document.groups.0.items.0.max"
    conflict = await rpc_error(ask(rpc, evaluation.AdoptFramework.model_construct(document=own | {"name": "Khác"})))
    assert (conflict.code, conflict.field) == ("conflict", "document.version")
    nobody = await rpc_error(
        ask(rpc, evaluation.AdoptFramework.model_construct(document=own, committee_id=random_id("ward")))
    )
    assert (nobody.code, nobody.field) == ("not_found", "committee_id")


@pytest.mark.parametrize("blank", ["\u200b", " \u2060\u00ad ", "\u3164\ufeff", "\u2062\u00a0\u180e"])
async def test_a_framework_named_only_by_invisible_characters_is_refused_naming_the_name(
    rpc: RpcClient, blank: str
) -> None:
    """A framework's, criterion's or item's name of spaces or characters that show nothing is blank
    (shared.text.has_text): the adoption is refused naming it, nothing stored."""
    shipped = json.loads((FRAMEWORKS_DIR / "hd42-2025.v1.json").read_text(encoding="utf-8"))
    for path in ((), ("groups", 0), ("groups", 0, "items", 0)):
        document = copy.deepcopy(shipped) | {"id": random_id("fw"), "effective_from": "2026-01-01"}
        part: Any = document
        for step in path:
            part = part[step]
        part["name"] = blank
        refused = await rpc_error(ask(rpc, evaluation.AdoptFramework.model_construct(document=document)))
        assert (refused.code, refused.field) == ("invalid", ".".join(map(str, ("document", *path, "name"))))
        assert "visible text" in refused.message, refused.message
        listed = await ask(rpc, evaluation.ListFrameworks())
        assert document["id"] not in {item["id"] for item in listed["items"]}


async def test_a_rescore_over_half_years_runs_over_their_months(rpc: RpcClient, ward: dict[str, str]) -> None:
    """A trial's `2026-H2` was refused though quarters were taken: a half-year means its months, as a quarter does."""
    started = await ask(rpc, evaluation.Rescore(unit_id=ward["committee"], period_from="2025-H2", period_to="2026-H1"))
    assert (started["status"], started["period_from"], started["period_to"]) == ("queued", "2025-H2", "2026-H1")

    async def finished() -> dict[str, Any] | None:
        status = await ask(rpc, evaluation.GetRescoreStatus(job_id=started["job_id"]))
        return status if status["status"] in ("done", "failed") else None

    status = await eventually(finished, timeout=30, interval=0.2)
    assert status["status"] == "done" and status["error"] is None, status
    assert status["cells_total"] == status["cells_done"] == 2


async def test_rescore_starts_a_job_whose_progress_is_readable(rpc: RpcClient, ward: dict[str, str]) -> None:
    shipped = json.loads((FRAMEWORKS_DIR / "hd42-2025.v1.json").read_text(encoding="utf-8"))
    corrected = shipped | {"id": random_id("fw"), "name": "Khung đã sửa", "effective_from": "2026-01-01"}
    await ask(rpc, evaluation.AdoptFramework(document=corrected, committee_id=ward["committee"]))

    started = await ask(rpc, evaluation.Rescore(unit_id=ward["committee"], period_from="2026-01"))
    assert started["status"] == "queued" and started["job_id"]
    # the user trial: the answer to the request (the API's 202) named no subtree nor months; it says what was queued
    assert (started["unit_id"], started["period_from"], started["period_to"]) == (ward["committee"], "2026-01", None)

    async def finished() -> dict[str, Any] | None:
        status = await ask(rpc, evaluation.GetRescoreStatus(job_id=started["job_id"]))
        return status if status["status"] in ("done", "failed") else None

    status = await eventually(finished, timeout=30, interval=0.2)
    assert status["status"] == "done" and status["error"] is None
    assert (status["cells_total"], status["cells_done"]) == (2, 2)
    # five meetings looked at; the four scored ones move to the corrected framework, which rates them the same: no
    # score, rating or points changed, so none counts as changed (the user trial read 4 as four changed scores)
    assert status["meetings_rescored"] == 5 and status["meetings_changed"] == 0
    assert status["periods_changed"] == 0
    assert status["changed"] == status["meetings_changed"] + status["periods_changed"]  # everything that changed
    assert status["unit_id"] == ward["committee"] and status["period_from"] == "2026-01"
    assert status["started_at"] and status["finished_at"]
    score = await ask(rpc, evaluation.GetMeetingScore(meeting_id=f"{ward['prefix']}-mt4"))
    assert score["framework"] == {"id": corrected["id"], "version": "1", "name": "Khung đã sửa"}

    bad = await rpc_error(ask(rpc, evaluation.Rescore.model_construct(period_from="2026-13")))
    assert (bad.code, bad.field) == ("invalid", "period_from")
    assert bad.message == (
        "period_from: expected a month (2026-09), a quarter (2026-Q3), a half-year (2026-H2) or a year (2026),"
        " not '2026-13'"
    )
    unknown = await rpc_error(ask(rpc, evaluation.GetRescoreStatus.model_construct(job_id="nope")))
    assert (unknown.code, unknown.field) == ("not_found", "job_id")


async def test_rescore_asked_again_with_its_job_id_is_the_one_job(rpc: RpcClient, ward: dict[str, str]) -> None:
    """The gateway names the job of a web form (from its one-time key): the form sent twice is one job, answered as
    it stands the second time, never queued again; the id over other months is a conflict naming `job_id`."""
    job_id = random_id("web")
    asked = evaluation.Rescore(unit_id=ward["committee"], period_from="2026-02", period_to="2026-03", job_id=job_id)
    started = await ask(rpc, asked)
    assert (started["job_id"], started["status"]) == (job_id, "queued")

    async def finished() -> dict[str, Any] | None:
        status = await ask(rpc, evaluation.GetRescoreStatus(job_id=job_id))
        return status if status["status"] in ("done", "failed") else None

    done = await eventually(finished, timeout=30, interval=0.2)
    again = await ask(rpc, asked)
    assert (again["job_id"], again["status"]) == (job_id, "done")
    assert (again["unit_id"], again["period_from"], again["period_to"]) == (ward["committee"], "2026-02", "2026-03")
    after = await ask(rpc, evaluation.GetRescoreStatus(job_id=job_id))
    assert after["finished_at"] == done["finished_at"] and after["cells_done"] == done["cells_done"]

    other = await rpc_error(ask(rpc, asked.model_copy(update={"period_to": "2026-04"})))
    assert (other.code, other.field) == ("conflict", "job_id")


async def test_a_months_thematic_coverage_of_the_cells_that_met_is_apart(rpc: RpcClient, ward: dict[str, str]) -> None:
    """May: the cell that met held a combined meeting, the other never met. Over every cell the coverage is 0.5; over
    the cells that held the month's regular meeting (the running month's reading: services/gateway/rollups.py) it is
    1.0, as `met_score` is their score. A quarter has no such figure."""
    may = await ask(rpc, evaluation.GetCommitteeRollup(committee_id=ward["committee"], period="2026-05"))
    assert (may["thematic_coverage"], may["irregular"], may["met_thematic_coverage"]) == (0.5, 1, 1.0)
    march = await ask(rpc, evaluation.GetCommitteeRollup(committee_id=ward["committee"], period="2026-03"))
    assert (march["thematic_coverage"], march["met_thematic_coverage"]) == (0.0, 0.0)
    quarter = await ask(rpc, evaluation.GetCommitteeRollup(committee_id=ward["committee"], period="2026-Q2"))
    assert quarter["met_thematic_coverage"] is None


async def test_periods_ranking_and_report_count_every_meeting_held(rpc: RpcClient, ward: dict[str, str]) -> None:
    """`meetings_held` (every kind: the web's "chưa sinh hoạt thường kỳ" for a month that held another meeting than
    its regular one) is stored with each period and read by the periods, the ranking and the report alike."""
    periods = {p["period"]: p for p in (await ask(rpc, evaluation.GetCellPeriods(cell_id=ward["cell_a"])))["periods"]}
    assert [periods[month]["meetings_held"] for month in ("2026-03", "2026-04", "2026-05", "2026-06")] == [1, 1, 1, 1]
    assert (periods["2026-Q2"]["meetings_held"], periods["2026"]["meetings_held"]) == (3, 4)
    for order in ("asc", "desc"):
        for weak_only in (False, True):
            request = evaluation.GetCommitteeRanking(
                committee_id=ward["committee"], period="2026-05", order=order, limit=10, weak_only=weak_only
            )
            held = {item["cell_id"]: item["meetings_held"] for item in (await ask(rpc, request))["items"]}
            assert held.get(ward["cell_b"]) == 0 and held.get(ward["cell_a"], 1) == 1, (order, weak_only)
    report = await ask(rpc, evaluation.GetCommitteeReport(committee_id=ward["committee"], period="2026-05"))
    held = {item["cell_id"]: item["meetings_held"] for item in report["items"]}
    assert held == {ward["cell_a"]: 1, ward["cell_b"]: 0}


async def test_the_weakest_cells_are_the_weak_lines_of_the_report_worst_first(
    rpc: RpcClient, ward: dict[str, str]
) -> None:
    """GetWeakestCells answers the report's lines rated Average or Poor, Poor first, then by score and id, at most
    `limit`; `met_only` leaves out a month's cells without its regular meeting; the period's errors as the roll-up's."""
    report = await ask(rpc, evaluation.GetCommitteeReport(committee_id=ward["committee"], period="2026-05"))
    weak = [item for item in report["items"] if item["rating"] in ("poor", "average")]
    weak.sort(key=lambda item: (item["rating"] != "poor", item["score"], item["cell_id"]))
    assert weak
    request = evaluation.GetWeakestCells(committee_id=ward["committee"], period="2026-05", limit=50)
    assert (await ask(rpc, request))["items"] == weak
    assert (await ask(rpc, request.model_copy(update={"limit": 1})))["items"] == weak[:1]
    met = [item for item in weak if item["regular_held"] and "no_regular_meeting" not in item["flags"]]
    assert len(met) < len(weak)  # cell B held another meeting than its regular one
    assert (await ask(rpc, request.model_copy(update={"met_only": True})))["items"] == met
    with pytest.raises(RpcError) as unknown:
        await ask(rpc, request.model_copy(update={"committee_id": "nobody"}))
    assert (unknown.value.code, unknown.value.field) == ("not_found", "committee_id")


async def test_unit_rollups_answer_each_units_roll_up_figures_in_one_reply(
    rpc: RpcClient, ward: dict[str, str]
) -> None:
    """GetUnitRollups answers, for each unit asked (a committee, a cell), the figures GetCommitteeRollup gives it
    (without its weakest cells and late changes), in the order asked, once each; a unit unknown or without data up
    to the period's end is left out; a period not begun is invalid."""
    units = [ward["cell_b"], ward["committee"], ward["cell_a"]]
    for period in ("2026-03", "2026-Q2", "2026"):
        expected = []
        for unit in units:
            rollup = await ask(rpc, evaluation.GetCommitteeRollup(committee_id=unit, period=period))
            expected.append(
                {key: value for key, value in rollup.items() if key in evaluation.RollupFiguresReply.model_fields}
            )
        request = evaluation.GetUnitRollups(unit_ids=[*units, random_id("nobody"), ward["cell_a"]], period=period)
        assert (await ask(rpc, request))["items"] == expected, period
    nothing = await ask(rpc, evaluation.GetUnitRollups(unit_ids=[ward["committee"]], period="1999-01"))
    assert nothing["items"] == []
    coming = next_period(f"{datetime.now(VIETNAM_TZ):%Y-%m}")
    error = await rpc_error(ask(rpc, evaluation.GetUnitRollups(unit_ids=[ward["committee"]], period=coming)))
    assert (error.code, error.field) == ("invalid", "period") and "has not begun" in error.message


async def test_direct_cells_counts_the_cells_under_a_committee_that_unit_rollups_would_list(
    rpc: RpcClient, ward: dict[str, str]
) -> None:
    """CountDirectCells answers how many of the committee's own cells GetUnitRollups lists with cells in the period
    (the summary PDF's count, without their figures): none before their data, none for an unknown unit; a period not
    begun is invalid."""
    cells = [ward["cell_a"], ward["cell_b"]]
    for period in ("1999-01", "2026-03", "2026-Q2", "2026"):
        listed = (await ask(rpc, evaluation.GetUnitRollups(unit_ids=cells, period=period)))["items"]
        counted = await ask(rpc, evaluation.CountDirectCells(committee_id=ward["committee"], period=period))
        assert counted == {"cells": sum(1 for item in listed if item["cells"])}, period
    assert counted["cells"] > 0
    nobody = await ask(rpc, evaluation.CountDirectCells(committee_id=random_id("nobody"), period="2026"))
    assert nobody == {"cells": 0}
    coming = next_period(f"{datetime.now(VIETNAM_TZ):%Y-%m}")
    request = evaluation.CountDirectCells(committee_id=ward["committee"], period=coming)
    error = await rpc_error(ask(rpc, request))
    assert (error.code, error.field) == ("invalid", "period") and "has not begun" in error.message


@pytest.mark.parametrize(
    ("months", "field"),
    [
        ({"period_from": "0001-01", "period_to": "9999-12"}, "period_from"),
        ({"period_from": "2025-01", "period_to": "9999-12"}, "period_to"),
        ({"period_to": "9998-12"}, "period_to"),
    ],
)
async def test_rescore_over_months_outside_history_is_refused_naming_the_field(
    rpc: RpcClient, ward: dict[str, str], months: dict[str, str], field: str
) -> None:
    """Trial 21: such months were queued and failed the job with a raw ValueError; any caller of the RPC is refused
    as the API's caller is, and no job is queued."""
    refused = await rpc_error(ask(rpc, evaluation.Rescore(unit_id=ward["committee"], **months)))
    assert (refused.code, refused.field) == ("invalid", field)
    assert str(refused).startswith(f"{field}: ") and "ValueError" not in str(refused)
