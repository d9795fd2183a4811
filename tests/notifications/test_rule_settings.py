"""A committee's alert settings (set_rule/get_rules, the gateway's alert-rules endpoints): kept over earlier ones,
bounded, reported with where each value comes from, and used for the cells of its subtree."""

from datetime import datetime

import asyncpg
import pytest

from services.notifications.config import Settings
from services.notifications.handlers.commands import Commands
from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.contracts.notifications_rpc import RulesReply
from shared.periods import VIETNAM_TZ
from shared.rpc import RpcError
from tests.notifications.events import Province
from tests.notifications.fakes import Clock
from tests.notifications.test_handlers import due_times, fire, handle
from tests.support.ids import random_id


def commands_at(pool: asyncpg.Pool, settings: Settings, clock: Clock) -> Commands:
    """The RPC commands over the real database at the test's clock."""
    return Commands(lambda: NotificationsUnitOfWork(pool, settings=settings, clock=clock))


async def test_a_reminder_switched_off_by_the_committee_is_not_sent_to_its_cells_and_others_still_get_theirs(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p, elsewhere = Province(), Province()
    clock = Clock(datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ))
    starts = datetime(2026, 11, 13, 19, 30, tzinfo=VIETNAM_TZ)
    meeting_id, other_id = random_id("mtg"), random_id("mtg")
    await handle(pool, settings, clock, *p.setup(), *elsewhere.setup())
    await handle(pool, settings, clock, p.scheduled(meeting_id, starts), elsewhere.scheduled(other_id, starts))

    answer = await commands_at(pool, settings, clock).set_rule(p.committee, "meeting_reminder", enabled=False)
    assert answer["rules"]["meeting_reminder"]["enabled"] is False

    clock.value = datetime(2026, 11, 13, 16, 30, tzinfo=VIETNAM_TZ)
    assert "meeting.reminder" in await due_times(pool, meeting_id)  # still planned: switched off, it sends nothing
    assert await fire(pool, settings, clock, "meeting.reminder", meeting_id) == 0
    assert await fire(pool, settings, clock, "meeting.reminder", other_id) > 0


async def test_a_committee_lead_time_moves_its_cells_reminder_and_the_answer_says_who_set_each_value(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    p = Province()
    clock = Clock(datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ))
    meeting_id = random_id("mtg")
    await handle(pool, settings, clock, *p.setup())
    await handle(pool, settings, clock, p.scheduled(meeting_id, datetime(2026, 11, 13, 19, 30, tzinfo=VIETNAM_TZ)))
    commands = commands_at(pool, settings, clock)

    await commands.set_rule(p.committee, "meeting_reminder", {"hours_before": 24})
    # switching it on again later keeps the lead time the committee set (a change is over the earlier one)
    await commands.set_rule(p.committee, "meeting_reminder", enabled=True)
    assert (await due_times(pool, meeting_id))["meeting.reminder"] == (
        datetime(2026, 11, 12, 19, 30, tzinfo=VIETNAM_TZ),
        False,
    )

    own = (await commands.get_rules(p.committee))["rules"]
    assert own["meeting_reminder"] == {
        "enabled": True,
        "params": {"hours_before": 24},
        "set_by": {"enabled": p.committee, "params": {"hours_before": p.committee}},
        "limits": {"hours_before": {"min": 1, "max": 168}},
    }
    assert own["documents_missing"]["set_by"] == {"enabled": None, "params": {"hours_before": None}}
    below = (await commands.get_rules(p.cell))["rules"]["meeting_reminder"]
    assert below["params"] == {"hours_before": 24} and below["set_by"]["params"] == {"hours_before": p.committee}

    # a None parameter gives the value back to the default (or the committees above)
    back = await commands.set_rule(p.committee, "meeting_reminder", {"hours_before": None})
    assert back["rules"]["meeting_reminder"]["params"] == {"hours_before": 3}
    assert back["rules"]["meeting_reminder"]["set_by"]["params"] == {"hours_before": None}


@pytest.mark.parametrize(
    ("rule", "params", "field"),
    [
        ("no_such_rule", {}, "rule"),
        ("meeting_reminder", {"minutes_before": 30}, "params.minutes_before"),
        ("meeting_reminder", {"hours_before": 0}, "params.hours_before"),
        ("meeting_reminder", {"hours_before": 169}, "params.hours_before"),
        ("documents_missing", {"hours_before": 2.5}, "params.hours_before"),
        ("no_regular_meeting", {"day_of_month": 31}, "params.day_of_month"),
        ("no_regular_meeting", {"day_of_month": "25"}, "params.day_of_month"),
        ("meeting_rated_low", {"ratings": ["good"]}, "params.ratings"),
        ("meeting_rated_low", {"ratings": []}, "params.ratings"),
        ("meeting_rated_low", {"include_provisional": 1}, "params.include_provisional"),
        ("meeting_rated_low", {"settle_minutes": -1}, "params.settle_minutes"),
        ("meeting_rated_low", {"settle_minutes": 1441}, "params.settle_minutes"),
        ("consecutive_absences", {"more_than": 0}, "params.more_than"),
        ("unexcused_months", {"at_least": 13}, "params.at_least"),
        ("minutes_late_superior", {"more_days": True}, "params.more_days"),
    ],
)
async def test_a_setting_out_of_its_range_is_refused_naming_the_field_and_nothing_is_stored(
    pool: asyncpg.Pool, settings: Settings, rule: str, params: dict[str, object], field: str
) -> None:
    p = Province()
    clock = Clock(datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ))
    await handle(pool, settings, clock, *p.setup())
    commands = commands_at(pool, settings, clock)
    with pytest.raises(RpcError) as refused:
        await commands.set_rule(p.committee, rule, params)
    assert refused.value.code == "invalid" and refused.value.field == field
    rules = (await commands.get_rules(p.committee))["rules"]
    assert all(value["set_by"]["enabled"] is None for value in rules.values())
    assert all(source is None for value in rules.values() for source in value["set_by"]["params"].values())


async def test_the_rules_answer_tells_the_history_cutoff_notifications_runs_with(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """The committee page names how old bulk-loaded history is when it raises no alert from this answer: the cutoff
    configured (CHIBO_HISTORY_CUTOFF_DAYS), not a number of the gateway's own; changed, the answer changes."""
    p = Province()
    clock = Clock(datetime(2026, 11, 10, 9, 0, tzinfo=VIETNAM_TZ))
    await handle(pool, settings, clock, *p.setup())
    assert (await commands_at(pool, settings, clock).get_rules(p.committee))["history_cutoff_days"] == (
        settings.history_cutoff_days
    )
    longer = settings.model_copy(update={"history_cutoff_days": settings.history_cutoff_days + 16})
    for answer in (
        await commands_at(pool, longer, clock).get_rules(p.committee),
        await commands_at(pool, longer, clock).set_rule(p.committee, "meeting_reminder", {"hours_before": 24}),
    ):
        assert answer["history_cutoff_days"] == settings.history_cutoff_days + 16
        assert RulesReply.model_validate(answer).history_cutoff_days == settings.history_cutoff_days + 16
