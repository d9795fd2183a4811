"""A trial's member opening their own cell's evidence page got the 404 "không thuộc đơn vị của đồng chí": it is their
unit. They get the app's 403 page in Vietnamese saying who may see the evidence (and its CSV); another cell's evidence
stays the 404 page of a unit that does not exist, as does a committee's page for a member."""

import pytest

from tests.support.system import RunningSystem
from tests.web.conftest import signed_in

pytestmark = pytest.mark.e2e

WHO_MAY = "Trang minh chứng sinh hoạt của chi bộ dành cho bí thư chi bộ và cán bộ cấp ủy cấp trên."


async def test_a_member_is_told_who_may_see_their_own_cells_evidence_and_outsiders_get_404(
    system: RunningSystem, province: dict[str, str]
) -> None:
    async with signed_in(system, "member") as client:  # a member of Chi bộ thôn 1
        for path in ("evidence", "evidence.csv"):
            own = await client.get(f"/app/cells/demo-cb-thon-1/{path}")
            assert own.status_code == 403, path
            assert "Không có quyền" in own.text and WHO_MAY in own.text, path
            assert "không thuộc đơn vị của đồng chí" not in own.text, path
            other = await client.get(f"/app/cells/demo-cb-kp-3/{path}")
            assert other.status_code == 404 and "không thuộc đơn vị của đồng chí" in other.text, path
        for path in ("", "/report.csv", "/ranking", "/alerts", "/rescore"):
            committee = await client.get(f"/app/committees/demo-xa-hoa-binh{path}")
            assert committee.status_code == 404, path
    async with signed_in(system, "secretary") as client:
        assert (await client.get("/app/cells/demo-cb-thon-1/evidence")).status_code == 200
