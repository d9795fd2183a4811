"""The refusal of a secretary's command before its meeting begins reads as English should: the h194 trial read
"its minutes is recorded once it has begun"."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.meetings import domain
from shared.envelope import GATEWAY_SOURCE

APPLY = Path(__file__).parents[2] / "services/meetings/handlers/apply.py"
SAID = re.findall(r'check_command_after_start\([^)]*what="([^"]+)"\)', APPLY.read_text(encoding="utf-8"))


def test_every_command_judged_before_its_meeting_is_found() -> None:
    assert len(SAID) == 3, SAID


@pytest.mark.parametrize("what", SAID)
def test_the_refusal_agrees_in_number(what: str) -> None:
    now = datetime.now(UTC)
    meeting = domain.MeetingState(
        meeting_id="m-1",
        cell_id="c-1",
        kind="regular",
        starts_at=now + timedelta(days=9),
        cancel_version=None,
        has_roster=False,
        has_minutes=False,
    )
    with pytest.raises(domain.InvalidEvent) as refused:
        domain.check_command_after_start(meeting, source=GATEWAY_SOURCE, time=now, what=what)
    sentence = str(refused.value).rsplit("; ", 1)[1]
    assert sentence in {
        "attendance is recorded once it has begun",
        "its minutes are recorded once it has begun",
        "its assessment is recorded once it has begun",
    }, sentence
