"""period_rated_low on a period's settled rating (chaos at midnight in Vietnam, the 4th of December: November's
grace had just ended, and the faulty run, whose facts arrived in another order, alerted the superior committee of
twelve cells "xếp loại Kém tháng 11/2026" from interim ratings the quiet run never saw; both runs ended with the
same ratings). A rating of a period already past its grace (a backfill, late minutes) is judged `settle_minutes` (30)
after the latest rating arrived, re-armed by later ones, on the latest rating then (real database, the schedule's
clock driven by the test)."""

from datetime import datetime, timedelta

from services.notifications.domain import rules
from services.notifications.handlers.commands import Commands
from shared.contracts.notifications_rpc import PeriodChecksReply
from shared.envelope import CloudEvent
from shared.periods import VIETNAM_TZ
from tests.notifications.conftest import NOW, HeldMeeting, run_due
from tests.notifications.events import cell_rated

PAST = "2026-10"
"""A month whose grace (3 days) ended before NOW."""
PERIOD_CHECK = "cell.period"


def rated(held: HeldMeeting, period: str, rating: str, *, time: datetime) -> CloudEvent:
    """score.cell.updated.v1 of the held meeting's cell for `period`, published at `time`."""
    return cell_rated(held.province.cell, period, rating, time=time)


async def check_due(held: HeldMeeting, period: str) -> datetime | None:
    """When the period's check is due (None when none is planned)."""
    async with held.pool.acquire() as conn:
        found: datetime | None = await conn.fetchval(
            "SELECT due_at FROM schedule WHERE kind = $1 AND subject_id = $2 AND done_at IS NULL",
            PERIOD_CHECK,
            f"{held.province.cell}|{period}",
        )
    return found


async def run_check(held: HeldMeeting, period: str) -> int | None:
    """The period's check run once due at the clock's time: the alerts it created, None while not due."""
    return await run_due(held.pool, held.settings, held.clock, f"{held.province.cell}|{period}", PERIOD_CHECK)


async def period_alerts(held: HeldMeeting) -> list[tuple[str, str]]:
    """(recipient, period/rating) of every period_rated_low alert about the cell."""
    async with held.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT recipient_id, period FROM notification WHERE rule = 'period_rated_low' AND subject_id = $1"
            " ORDER BY recipient_id, period",
            held.province.cell,
        )
    return [(row["recipient_id"], row["period"]) for row in rows]


def test_the_check_waits_for_the_grace_and_for_the_latest_rating_to_settle() -> None:
    grace_over = datetime(2026, 11, 4, 0, 0, tzinfo=VIETNAM_TZ)
    early = datetime(2026, 11, 3, 9, 0, tzinfo=VIETNAM_TZ)
    assert rules.period_check_due(PAST, grace_days=3, settle_minutes=30, received_at=early) == grace_over
    late = datetime(2026, 11, 3, 23, 50, tzinfo=VIETNAM_TZ)  # settles 20 minutes after the grace
    assert rules.period_check_due(PAST, grace_days=3, settle_minutes=30, received_at=late) == late + timedelta(
        minutes=30
    )
    assert rules.period_check_due(PAST, grace_days=3, settle_minutes=30, received_at=NOW) == NOW + timedelta(minutes=30)
    assert rules.period_check_due(PAST, grace_days=3, settle_minutes=30, received_at=None) == grace_over


async def test_an_interim_poor_replaced_by_fair_within_the_settle_period_raises_no_alert(held: HeldMeeting) -> None:
    await held.handle(rated(held, PAST, "poor", time=NOW))
    assert await check_due(held, PAST) == NOW + timedelta(minutes=30)  # before the fix: NOW, the interim judged
    assert await run_check(held, PAST) is None
    held.clock.value = NOW + timedelta(minutes=5)
    await held.handle(rated(held, PAST, "fair", time=NOW + timedelta(minutes=5)))
    assert await check_due(held, PAST) == NOW + timedelta(minutes=35)  # re-armed by the later rating

    held.clock.value = NOW + timedelta(minutes=35)
    assert await run_check(held, PAST) == 0
    assert await period_alerts(held) == []


async def test_a_poor_that_stays_raises_one_alert_once_settled(held: HeldMeeting) -> None:
    await held.handle(rated(held, PAST, "average", time=NOW))
    held.clock.value = NOW + timedelta(minutes=10)
    await held.handle(rated(held, PAST, "poor", time=NOW + timedelta(minutes=10)))

    held.clock.value = NOW + timedelta(minutes=39)
    assert await run_check(held, PAST) is None  # not settled yet
    held.clock.value = NOW + timedelta(minutes=40)
    assert await run_check(held, PAST) == 1
    assert await period_alerts(held) == [(held.province.committee, f"{PAST}/poor")]


async def test_a_rating_before_the_grace_ends_is_judged_when_it_ends(held: HeldMeeting) -> None:
    await held.handle(rated(held, "2026-11", "poor", time=NOW))
    assert await check_due(held, "2026-11") == datetime(2026, 12, 4, 0, 0, tzinfo=VIETNAM_TZ)


async def test_a_committee_settle_period_moves_a_pending_period_check(held: HeldMeeting) -> None:
    await held.handle(rated(held, PAST, "poor", time=NOW))
    held.clock.value = NOW + timedelta(minutes=10)
    commands = Commands(lambda: held.unit_of_work())
    answer = await commands.set_rule(held.province.committee, "period_rated_low", {"settle_minutes": 90})
    assert answer["rules"]["period_rated_low"]["params"]["settle_minutes"] == 90
    assert await check_due(held, PAST) == NOW + timedelta(minutes=90)  # from the rating's arrival, not from now


async def test_the_committee_page_is_told_when_a_rating_settling_after_the_grace_will_be_judged(
    held: HeldMeeting,
) -> None:
    """Trial 14: the committee page said "Không có cảnh báo." and nothing pending for a cell rated Kém whose late
    rating's check was still due (the page knew only the grace). notifications answers when its pending period checks
    of the committee's cells are due (period_checks_due, the latest of them), none once they ran."""
    commands = Commands(lambda: held.unit_of_work())
    committee = held.province.committee
    assert await commands.period_checks_due(committee, PAST) == {
        "committee_id": committee,
        "period": PAST,
        "due_at": None,
        "pending": 0,
    }
    await held.handle(rated(held, PAST, "poor", time=NOW))
    settled = NOW + timedelta(minutes=30)
    answer = await commands.period_checks_due(committee, PAST)
    assert (datetime.fromisoformat(answer["due_at"]), answer["pending"]) == (settled, 1)
    assert PeriodChecksReply.model_validate(answer).due_at == settled  # what the gateway reads of it
    assert (await commands.period_checks_due(committee, "2026-09"))["pending"] == 0  # another period
    assert (await commands.period_checks_due(held.province.cell, PAST))["due_at"] is not None  # the cell itself
    assert (await commands.period_checks_due(f"{committee}-other", PAST))["pending"] == 0

    held.clock.value = settled
    assert await run_check(held, PAST) == 1
    assert (await commands.period_checks_due(committee, PAST))["due_at"] is None
