"""The in-memory ingest repository closes the rejections a filter chooses as the PostgreSQL one does (criteria read
as REJECTION_FILTER_COLUMNS reads them: code, source, sender, received before exclusive and after inclusive), so a
handler test over the fakes dismisses what production would."""

from datetime import UTC, datetime, timedelta

from shared.contracts.meetings_rpc import NO_CODE, RejectionFilter
from shared.refusals import Refusal, RefusalCode
from tests.meetings.fakes import FakeStore, FakeUnitOfWork

RECEIVED = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
AT = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


async def stored(uow: FakeUnitOfWork) -> list[str]:
    """Five open rejections a minute apart: (source a, foreign, s1), (a, unregistered, s1), (b, foreign, s2),
    (b, foreign, s1), (a, no refusal code, s1); their ids in that order."""
    rows = [
        ("urn:a", RefusalCode.SOURCE_OF_ANOTHER_ACCOUNT, "s1"),
        ("urn:a", RefusalCode.SOURCE_NOT_REGISTERED, "s1"),
        ("urn:b", RefusalCode.SOURCE_OF_ANOTHER_ACCOUNT, "s2"),
        ("urn:b", RefusalCode.SOURCE_OF_ANOTHER_ACCOUNT, "s1"),
        ("urn:a", None, "s1"),
    ]
    ids = []
    for n, (source, code, sender) in enumerate(rows):
        kept = await uow.ingest.reject(
            source=source,
            event_id=f"evt-{n}",
            event_type="member.upserted.v1",
            reason="refused",
            field=None,
            raw="{}",
            route="http",
            received_at=RECEIVED + timedelta(minutes=n),
            refusal=Refusal(code=code) if code is not None else None,
            account=sender,
        )
        ids.append(kept.rejection_id)
    return ids


async def closed_by(selected: RejectionFilter, *, limit: int = 100) -> list[int]:
    """The positions (in `stored`'s order) of the rejections a filtered dismissal closes, on fresh fakes."""
    uow = FakeUnitOfWork(FakeStore())
    async with uow:
        ids = await stored(uow)
        closed = await uow.ingest.dismiss_matching(selected, limit=limit, at=AT, by="op-1", reason="Lũ từ chối")
        rows = {rejection_id: await uow.ingest.get_rejection(rejection_id, lock_row=False) for rejection_id in ids}
    said = {rejection_id: (row or {}).get("status") for rejection_id, row in rows.items()}
    by = {rejection_id: (row or {}).get("dismissed_by") for rejection_id, row in rows.items()}
    assert {said[rejection_id] for rejection_id in closed} <= {"dismissed"}
    assert {said[rejection_id] for rejection_id in ids if rejection_id not in closed} <= {"open"}
    assert {by[rejection_id] for rejection_id in closed} <= {"op-1"}
    return sorted(ids.index(rejection_id) for rejection_id in closed)


async def test_each_criterion_selects_as_the_database_reads_it() -> None:
    foreign = RefusalCode.SOURCE_OF_ANOTHER_ACCOUNT
    assert await closed_by(RejectionFilter(code=foreign)) == [0, 2, 3]
    assert await closed_by(RejectionFilter(code=foreign, source="urn:b")) == [2, 3]
    assert await closed_by(RejectionFilter(code=NO_CODE)) == [4]  # stored without a refusal code
    assert await closed_by(RejectionFilter(code=NO_CODE, source="urn:b")) == []
    assert await closed_by(RejectionFilter(sender="s1", source="urn:a")) == [0, 1, 4]
    assert await closed_by(RejectionFilter(received_after=RECEIVED + timedelta(minutes=1))) == [1, 2, 3, 4]
    assert await closed_by(RejectionFilter(received_before=RECEIVED + timedelta(minutes=1))) == [0]
    assert await closed_by(RejectionFilter()) == [0, 1, 2, 3, 4]
    assert await closed_by(RejectionFilter(), limit=2) == [0, 1]


async def test_a_closed_rejection_is_not_closed_again() -> None:
    uow = FakeUnitOfWork(FakeStore())
    async with uow:
        await stored(uow)
        first = await uow.ingest.dismiss_matching(RejectionFilter(source="urn:b"), limit=10, at=AT, by="op", reason="x")
        again = await uow.ingest.dismiss_matching(RejectionFilter(source="urn:b"), limit=10, at=AT, by="op", reason="x")
    assert (len(first), again) == (2, [])


def test_the_code_meaning_none_is_no_refusal_code() -> None:
    # a RefusalCode spelt as NO_CODE would be picked with the rows stored without a code
    assert NO_CODE not in set(RefusalCode)
