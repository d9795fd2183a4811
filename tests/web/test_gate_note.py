"""The user trial: a meeting scored 95,79 read "95,8 điểm — Khá (chính thức)" and nothing said why not Tốt (the gate:
attendance 2/5). The score's `gate` (reads.score_gate, by evaluation's own rule, shared.gates) and the meeting page's
sentence now say it, naming the items by the framework's labels (and the secretary's record page and the monitor's
confirmation, which show the score and rating too); a Good and a Fair by points say nothing of it."""

import html
import re
from types import SimpleNamespace
from typing import Any

import pytest

from services.gateway.auth import Role
from services.gateway.http import reads
from services.gateway.web import data
from services.gateway.web.core import environment
from services.gateway.web.explain import gate_note
from shared.contracts.evaluation_rpc import FrameworkReply, GetFramework
from shared.rpc import RpcError
from tests.web import gate_cases
from tests.web.test_cancelled_record import record_page
from tests.web.test_meeting_wording import meeting_page


class Evaluation:
    """Answers GetFramework with the default framework's document, counting the calls."""

    def __init__(self) -> None:
        self.calls = 0

    async def call(self, request: Any) -> FrameworkReply:
        assert isinstance(request, GetFramework)
        self.calls += 1
        if (request.framework_id, request.version) != ("hd42-2025", "1"):
            raise RpcError("not_found", f"no framework {request.framework_id}", field="framework_id")
        return FrameworkReply.model_validate(gate_cases.document())


@pytest.fixture
def state(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(reads, "_frameworks", {})  # no document kept from another test's fake evaluation
    return SimpleNamespace(rpc=Evaluation())


async def gated(state: Any, score: dict[str, Any]) -> dict[str, Any]:
    """The score as the API answers it: with its `gate`."""
    return score | {"gate": await reads.score_gate(state, score)}


def page_text(score: dict[str, Any], note: str | None) -> str:
    """The meeting page's text (tags dropped, spaces folded) with this score and gate sentence."""
    return meeting_page({"status": "minutes_approved"}, score, gate_note=note)


async def test_a_good_score_lowered_by_the_gate_says_so_naming_the_items_short(state: Any) -> None:
    score = await gated(state, gate_cases.attendance_short())
    assert (score["rating"], score["gate"]) == (
        "fair",
        {"applied": True, "items_short": ["attendance"], "rating_by_points": "good"},
    )
    note = gate_note(score, gate_cases.document())
    assert note == ("Đạt 96,8 điểm nhưng hạ từ Tốt xuống Khá vì chưa đạt điểm tối đa ở: Tỷ lệ đảng viên có mặt.")
    text = page_text(score, note)
    assert "96,8 điểm — Khá (chính thức) Đạt 96,8 điểm nhưng hạ từ Tốt xuống Khá" in text, text


async def test_a_provisional_score_the_gate_would_lower_says_so_as_provisional(state: Any) -> None:
    score = await gated(state, gate_cases.provisional_attendance_short())
    assert score["provisional"] and score["gate"]["applied"] and score["gate"]["items_short"] == ["attendance"]
    assert gate_note(score, gate_cases.document()) == (
        "Tạm tính đạt 95 điểm nhưng hạ từ Tốt xuống Khá vì chưa đạt điểm tối đa ở: Tỷ lệ đảng viên có mặt."
    )


@pytest.mark.parametrize("case", [gate_cases.gate_items_full, gate_cases.fair_by_points])
async def test_a_good_with_the_gated_items_full_or_a_fair_by_points_says_nothing_of_the_gate(
    state: Any, case: Any
) -> None:
    score = await gated(state, case())
    assert score["gate"]["applied"] is False and score["gate"]["items_short"] == []
    assert score["gate"]["rating_by_points"] == score["rating"]
    note = gate_note(score, gate_cases.document())
    assert note is None
    assert "hạ từ" not in page_text(score, note)


async def test_the_document_is_read_once_and_a_score_without_a_readable_framework_has_no_gate(state: Any) -> None:
    await gated(state, gate_cases.attendance_short())
    await gated(state, gate_cases.fair_by_points())
    assert state.rpc.calls == 1  # kept once read
    unknown = gate_cases.attendance_short() | {"framework": {"id": "nope", "version": "9"}}
    assert await reads.score_gate(state, unknown) is None


def confirmation_page(score: dict[str, Any], note: str | None) -> str:
    """The upper-level monitor's confirmation page's text with this score and gate sentence."""
    viewer = SimpleNamespace(role=Role.COMMITTEE_OFFICER, account=SimpleNamespace(sub="gs"), csrf="t", principal=None)
    meeting = SimpleNamespace(meeting_id="m1", starts_at="2026-11-10T19:30:00+07:00", kind="regular", minutes=None)
    page = (
        environment()
        .get_template("monitor_confirm.html")
        .render(viewer=viewer, meeting=meeting, assignment={}, score=score, gate_note=note, manual=[], errors={})
    )
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def test_the_secretarys_record_page_and_the_monitors_confirmation_say_it_too(state: Any) -> None:
    """Both pages show the score and rating (`Điểm: 96,8 — Khá`): the same sentence follows."""
    score = await gated(state, gate_cases.attendance_short())
    note = await data.gate_sentence(state, score)
    assert note == gate_note(score, gate_cases.document()) and note is not None
    assert note in " ".join(record_page("minutes_approved", context={"score": score, "gate_note": note}).split())
    assert f"96,8 — Khá {note}" in confirmation_page(score, note)
    calls = state.rpc.calls
    fair = await gated(state, gate_cases.fair_by_points())
    assert await data.gate_sentence(state, fair) is None
    assert "hạ từ" not in confirmation_page(fair, None)
    assert state.rpc.calls == calls  # no framework read for a score the gate did not lower
