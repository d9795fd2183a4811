"""Pure pieces of the gateway's use cases: periods, body splitting, scoping, caching."""

import pytest

from services.gateway.auth import Principal, Role
from services.gateway.handlers import TtlCache, in_subtree
from shared.contracts.meetings_rpc import UnitReply
from shared.periods import period_contains


@pytest.mark.parametrize(
    ("outer", "inner", "inside"),
    [
        ("2026", "2026-11", True),
        ("2026", "2026-Q4", True),
        ("2026", "2025-12", False),
        ("2026-Q4", "2026-10", True),
        ("2026-Q4", "2026-09", False),
        ("2026-Q4", "2026", False),
        ("2026-11", "2026-11", True),
        ("2026-11", "2026-Q4", False),
    ],
)
def test_a_period_contains_its_months_and_quarters(outer: str, inner: str, inside: bool) -> None:
    assert period_contains(outer, inner) is inside


def test_officers_see_the_subtree_and_members_only_their_cell() -> None:
    cell = UnitReply(id="c1", name="Chi bộ 1", kind="cell", ancestors=["root", "ward", "c1"])
    officer = Principal(sub="o", role=Role.COMMITTEE_OFFICER, unit_id="ward", person_id=None, local=True)
    other_officer = Principal(sub="o2", role=Role.COMMITTEE_OFFICER, unit_id="ward-2", person_id=None, local=True)
    member = Principal(sub="m", role=Role.MEMBER, unit_id="c1", person_id="m1", local=True)
    operator = Principal(sub="op", role=Role.OPERATOR, unit_id=None, person_id=None, local=True)
    assert in_subtree(officer, cell) and in_subtree(member, cell)
    assert not in_subtree(other_officer, cell) and not in_subtree(operator, cell)


def test_the_cache_forgets_after_its_time() -> None:
    now = [0.0]
    cache = TtlCache(seconds=30, clock=lambda: now[0])
    cache.put("u1", {"id": "u1"})
    assert cache.get("u1") == (True, {"id": "u1"})
    now[0] = 31
    assert cache.get("u1") == (False, None)
