"""An operator judging again a scoped account's event (a held event retried, a rejection replayed) reads the real
reason; the sender's own answers keep hiding it (handlers/scope.py: an id outside the subtree is answered as unknown).

The user trial: an account scoped to the commune demo-xa-hoa-binh sent its cell demo-cb-thon-1 moved under the
province committee demo-tinh-uy (outside its subtree): held, answered "unit demo-tinh-uy is unknown" as it must be;
but the operator's "Xét lại" of it answered the same, although that unit exists and the stored hold says why."""

from typing import Any

from services.meetings import rpc as meetings_rpc
from services.meetings.config import Settings
from services.meetings.context import meetings_context
from shared.contracts import meetings_rpc as contract
from tests.meetings import events as ev
from tests.meetings.test_scope_leaks import START, as_commune, tree  # noqa: F401 (the fixture)
from tests.support.ids import random_id

OUTSIDE = "the only subtree this account may write"


def _operator(pool: Any) -> dict[str, Any]:
    """meetings.rpc's operator methods as the RPC queue runs them, answering plain dicts."""
    app = meetings_context(Settings(), pool)
    return {
        "retry": lambda **params: meetings_rpc.retry_held_event(contract.RetryHeldEvent(**params), app),
        "drop": lambda **params: meetings_rpc.drop_held_event(contract.DropHeldEvent(**params), app),
        "replay": lambda **params: meetings_rpc.replay_rejection(contract.ReplayRejection(**params), app),
    }


async def test_the_operators_retry_and_replay_of_a_hidden_hold_say_the_real_reason(
    tree: dict[str, Any],  # noqa: F811
    db: Any,
    meetings_pool: Any,
) -> None:
    ids = tree["ids"]
    operator = _operator(meetings_pool)
    # the trial's event: the commune's cell moved under the province committee, outside the commune's subtree
    moved = ev.unit(ids["thon1"], parent_id=ids["tinh"], name="Chi bộ thôn 1")
    sent = await as_commune(tree, moved)
    hidden = f"data.parent_id: unit {ids['tinh']} is unknown"
    assert (sent["outcome"], sent["reason"]) == ("held", hidden)
    source = f"urn:test:feed-{ids['xa']}"

    retried = await operator["retry"](source=source, event_id=moved["id"])
    assert retried["outcome"] == "held" and retried["field"] == "data.parent_id"
    assert retried["reason"].startswith(f"data.parent_id: unit {ids['tinh']} lies outside {ids['xa']}, {OUTSIDE}")
    stored = await db.fetchval("SELECT reason FROM meetings.held_event WHERE event_id = $1", moved["id"])
    assert retried["reason"] == stored

    # dropped into a rejection and replayed as it was: held again, and the operator is told why
    await operator["drop"](source=source, event_id=moved["id"], reason="Xem lại đơn vị cấp trên")
    rejection_id = await db.fetchval(
        "SELECT rejection_id FROM meetings.rejection WHERE event_id = $1 AND status = 'open'", moved["id"]
    )
    replayed = await operator["replay"](rejection_id=rejection_id)
    assert replayed["outcome"] == "held" and OUTSIDE in replayed["reason"] and ids["tinh"] in replayed["reason"]
    assert await db.fetchval("SELECT parent_id FROM meetings.org_unit WHERE id = $1", ids["thon1"]) == ids["dbcs"]

    # the sender sending it again is still answered as for an unknown unit
    again = await as_commune(tree, {**moved, "id": random_id("evt")})
    assert (again["outcome"], again["reason"]) == ("held", hidden)


async def test_the_operators_replay_of_a_hidden_refusal_says_where_the_id_lives(
    tree: dict[str, Any],  # noqa: F811
    db: Any,
    meetings_pool: Any,
) -> None:
    ids = tree["ids"]
    operator = _operator(meetings_pool)
    taken = ev.scheduled(ids["mtg-out"], ids["thon1"], starts_at=START)  # a meeting id of khu phố 3, outside
    sent = await as_commune(tree, taken)
    said = f"data.meeting_id: this account may not write meeting {ids['mtg-out']}"
    assert (sent["outcome"], sent["reason"]) == ("rejected", said)
    rejection_id = await db.fetchval("SELECT rejection_id FROM meetings.rejection WHERE event_id = $1", taken["id"])

    replayed = await operator["replay"](rejection_id=rejection_id)
    assert replayed["outcome"] == "rejected" and replayed["field"] == "data.meeting_id"
    assert replayed["reason"] == (
        f"data.meeting_id: meeting {ids['mtg-out']} (in {ids['kp3']}) lies outside {ids['xa']}, {OUTSIDE}"
    )
