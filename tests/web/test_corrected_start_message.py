"""A secretary's "Sửa thời điểm đã diễn ra" to a day some members on the recorded attendance were not the cell's is
refused by meetings (roster_not_in_cell_at_start, naming data.starts_at): the form says so under the start, the
members by name (the first few, then how many others), and what to check, instead of "not accepted by the system"."""

import pytest

from services.gateway.web import forms
from services.gateway.web.forms import FormErrors
from shared.refusals import Refusal, RefusalCode
from shared.rpc import RpcError
from tests.web.isolates import read_all


@pytest.mark.parametrize(
    ("names", "missing", "named"),
    [
        (["Trần Thị Mới"], 1, "đồng chí Trần Thị Mới,"),
        (
            ["Lê Văn An", "Trần Thị Bình", "Hoàng Văn Cường"],
            5,
            "Lê Văn An, Trần Thị Bình, Hoàng Văn Cường và 2 đồng chí",
        ),
    ],
)
async def test_a_correction_refused_for_members_not_in_the_cell_names_them_under_the_start(
    names: list[str], missing: int, named: str
) -> None:
    refusal = Refusal(code=RefusalCode.ROSTER_NOT_IN_CELL_AT_START, member_names=names, missing=missing)

    async def command() -> None:
        raise RpcError("invalid", "data.starts_at: reworded", field="data.starts_at", refusal=refusal)

    with pytest.raises(FormErrors) as caught:
        await forms.send(command())
    said = read_all(caught.value.errors)["data.starts_at"]
    assert named in said, said
    assert "vào thời điểm mới đồng chí chưa là đảng viên của chi bộ hoặc đã rời chi bộ" in said, said
    assert "thời điểm chưa được sửa; vui lòng kiểm tra lại ngày chi bộ thực sự sinh hoạt." in said, said


@pytest.mark.parametrize(
    ("names", "missing", "named"),
    [
        (["Lê Văn An"], 1, "đồng chí Lê Văn An,"),
        (
            ["Lê Văn An", "Trần Thị Bình", "Hoàng Văn Cường"],
            4,
            "Lê Văn An, Trần Thị Bình, Hoàng Văn Cường và 1 đồng chí",
        ),
    ],
)
async def test_a_correction_refused_for_members_left_off_the_attendance_names_them_under_the_start(
    names: list[str], missing: int, named: str
) -> None:
    refusal = Refusal(code=RefusalCode.ROSTER_MISSING_AT_START, member_names=names, missing=missing)

    async def command() -> None:
        raise RpcError("invalid", "data.starts_at: reworded", field="data.starts_at", refusal=refusal)

    with pytest.raises(FormErrors) as caught:
        await forms.send(command())
    said = read_all(caught.value.errors)["data.starts_at"]
    assert named in said, said
    assert "chưa có tên đồng chí" in said and "vào thời điểm mới đồng chí là đảng viên của chi bộ" in said, said
    assert "thời điểm chưa được sửa; vui lòng kiểm tra lại ngày chi bộ thực sự sinh hoạt." in said, said
