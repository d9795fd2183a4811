"""A trial's member opening their own cell's evidence page got the 404 "không thuộc đơn vị của đồng chí": it is their
unit. A page whose subject the viewer sees but whose role may not read it answers the 403 page saying who may
(core.page_unit); a unit outside what the viewer sees stays the 404 of a unit that does not exist (no existence leak).
The tree is a stand-in directory (no running system); the pages themselves are test_evidence_refused_to_members."""

from typing import Any

import pytest

from services.gateway.auth import Principal, Role
from services.gateway.http.reads import OFFICERS, ROSTER_READERS
from services.gateway.web.core import COMMITTEE_PAGE_REFUSED, EVIDENCE_REFUSED, NotAllowed, page_unit
from shared.contracts.meetings_rpc import UnitReply
from shared.rpc import RpcError

UNITS = {
    "tinh": UnitReply(id="tinh", name="Tỉnh ủy", kind="committee", ancestors=["tinh"]),
    "xa": UnitReply(id="xa", name="Đảng ủy xã", kind="committee", parent_id="tinh", ancestors=["tinh", "xa"]),
    "thon-1": UnitReply(
        id="thon-1", name="Chi bộ thôn 1", kind="cell", parent_id="xa", ancestors=["tinh", "xa", "thon-1"]
    ),
    "thon-2": UnitReply(
        id="thon-2", name="Chi bộ thôn 2", kind="cell", parent_id="xa", ancestors=["tinh", "xa", "thon-2"]
    ),
}


class FakeDirectory:
    """The org tree as UnitDirectory answers it."""

    async def get(self, unit_id: str) -> UnitReply | None:
        """The unit, None when there is none."""
        return UNITS.get(unit_id)


def person(role: Role, unit_id: str) -> Principal:
    """A signed-in person of `role` placed at `unit_id`."""
    return Principal(sub=f"{role.value}-{unit_id}", role=role, unit_id=unit_id, person_id=None, local=True)


async def answer(principal: Principal, unit_id: str, *, kind: str, roles: Any, refused: str) -> str:
    """What the page answers: `ok`, `403 <message>` or `404`."""
    try:
        await page_unit(principal, unit_id, directory=FakeDirectory(), kind=kind, roles=roles, refused=refused)
    except NotAllowed as exc:
        return f"403 {exc.message}"
    except RpcError as exc:
        assert exc.code == "not_found"
        return "404"
    return "ok"


async def test_a_member_is_refused_their_own_cells_evidence_with_a_403_saying_who_may() -> None:
    said = await answer(
        person(Role.MEMBER, "thon-1"), "thon-1", kind="cell", roles=ROSTER_READERS, refused=EVIDENCE_REFUSED
    )
    assert said == (
        "403 Trang minh chứng sinh hoạt của chi bộ dành cho bí thư chi bộ và cán bộ cấp ủy cấp trên. Đồng chí vẫn xem"
        " được các buổi sinh hoạt và kết quả xếp loại của chi bộ."
    )


@pytest.mark.parametrize(
    ("who", "unit_id", "expected"),
    [
        (person(Role.MEMBER, "thon-1"), "thon-2", "404"),  # another cell: not theirs, not told it exists
        (person(Role.MEMBER, "thon-1"), "no-such-cell", "404"),
        (person(Role.SECRETARY, "thon-1"), "thon-1", "ok"),
        (person(Role.SECRETARY, "thon-1"), "thon-2", "404"),
        (person(Role.COMMITTEE_OFFICER, "xa"), "thon-2", "ok"),
        (person(Role.OPERATOR, "tinh"), "thon-1", "404"),  # sees no unit of the tree
    ],
)
async def test_the_evidence_is_404_outside_what_the_viewer_sees(who: Principal, unit_id: str, expected: str) -> None:
    said = await answer(who, unit_id, kind="cell", roles=ROSTER_READERS, refused=EVIDENCE_REFUSED)
    assert said == expected


async def test_committee_pages_stay_404_for_people_of_a_cell_and_are_the_officers() -> None:
    for who in (person(Role.MEMBER, "thon-1"), person(Role.SECRETARY, "thon-1")):
        said = await answer(who, "xa", kind="committee", roles=OFFICERS, refused=COMMITTEE_PAGE_REFUSED)
        assert said == "404"
    assert (
        await answer(
            person(Role.COMMITTEE_OFFICER, "xa"), "xa", kind="committee", roles=OFFICERS, refused=COMMITTEE_PAGE_REFUSED
        )
        == "ok"
    )
    assert (
        await answer(
            person(Role.COMMITTEE_OFFICER, "xa"),
            "tinh",
            kind="committee",
            roles=OFFICERS,
            refused=COMMITTEE_PAGE_REFUSED,
        )
        == "404"
    )
