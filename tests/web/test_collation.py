"""Names read in Vietnamese order: D < Đ < E, Hồ < Huỳnh, the letters ă â ê ô ơ ư after their base, tones as
secondary differences, numbers by value; and the pages list members and cells in that order."""

import re

import httpx
import pytest

from shared.collation import by_name, by_name_values, name_key, person_key
from tests.support.system import RunningSystem
from tests.web.conftest import signed_in
from tests.web.test_record_values import begun_meeting


def test_family_names_sort_in_vietnamese_order_not_by_code_point() -> None:
    family = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
    assert sorted(family) != sorted(family, key=name_key)  # code points put Đ after V
    assert sorted(family, key=name_key) == [
        "Bùi",
        "Đặng",
        "Đỗ",
        "Hoàng",
        "Hồ",
        "Huỳnh",
        "Lê",
        "Ngô",
        "Nguyễn",
        "Phạm",
        "Phan",
        "Trần",
        "Võ",
        "Vũ",
    ]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("Dương", "Đặng"),  # đ is a letter after d: every Đ after every D
        ("Đỗ", "Em"),
        ("Ao", "Ăn"),
        ("Ăn", "Ân"),
        ("Ân", "Ba"),
        ("Oanh", "Ôn"),
        ("Ôn", "Ơn"),
        ("Uyên", "Ưng"),
        ("Ao", "Ặng"),  # a letter with a tone below too
        ("Hồ", "Huỳnh"),
        ("Hô", "Hồ"),  # tones only decide between the same letters
        ("Hồ", "Hổ"),
        ("Hồ Thị Bình", "Hồ Văn An"),
        ("đinh", "Đinh"),  # then case
        ("Chi bộ thôn 2", "Chi bộ thôn 10"),
    ],
)
def test_one_name_comes_before_another(before: str, after: str) -> None:
    assert name_key(before) < name_key(after)


def test_the_helpers_order_items_and_mappings_by_a_name() -> None:
    people = {"a": {"full_name": "Vũ Văn An"}, "b": {"full_name": "Đỗ Thị Hà"}, "c": {"full_name": "Dương Minh"}}
    assert list(by_name_values(people, lambda person: person["full_name"])) == ["c", "b", "a"]
    assert by_name(["Đỗ", None, "An"], lambda name: name) == [None, "An", "Đỗ"]


@pytest.mark.e2e
async def test_the_record_page_lists_the_cells_members_in_vietnamese_order(
    system: RunningSystem, province: dict[str, str]
) -> None:
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {province['secretary']}"}
    ) as api:
        members = (await api.get("/v1/cells/demo-cb-thon-1/members?limit=200")).json()["items"]
    # a meeting begun, nothing recorded: the demo's held meetings have adopted minutes, shown read-only with no form,
    # and a meeting ahead shows no minutes form until it begins
    begun, _starts = await begun_meeting(system, province)
    async with signed_in(system, "secretary") as client:
        page = (await client.get(f"/app/meetings/{begun}/record")).text
    select = page[page.index('<select id="chair_id"') : page.index("</select>", page.index('<select id="chair_id"'))]
    # the members' options, not the empty "— Chọn người chủ trì —" choice first (h443)
    shown = re.findall(r'<option value="[^"]+"[^>]*>([^<]+)</option>', select)
    assert shown == sorted((member["full_name"] for member in members), key=person_key)
    assert len(shown) == len(members) > 3


@pytest.mark.e2e
async def test_the_apis_members_are_in_the_same_vietnamese_order_as_the_pages(
    system: RunningSystem, province: dict[str, str]
) -> None:
    """GET /v1/cells/{id}/members sorted by code point (Huỳnh before Hồ, Đ after V) while the pages use Vietnamese
    order: both use shared.collation now, page by page."""
    async with httpx.AsyncClient(
        base_url=system.gateway_url, timeout=30, headers={"Authorization": f"Bearer {province['officer']}"}
    ) as api:
        cells = ["demo-cb-thon-1", "demo-cb-thon-2", "demo-cb-truong-th", "demo-cb-kp-3", "demo-cb-cong-an"]
        differs = False
        for cell in cells:
            listed = (await api.get(f"/v1/cells/{cell}/members?limit=200")).json()["items"]
            names = [item["full_name"] for item in listed]
            assert names == sorted(names, key=person_key), cell
            differs = differs or sorted(names) != names
            # the pages of a list follow the same order
            first = (await api.get(f"/v1/cells/{cell}/members?limit=5&offset=0")).json()["items"]
            second = (await api.get(f"/v1/cells/{cell}/members?limit=5&offset=5")).json()["items"]
            assert [item["full_name"] for item in first + second] == names[:10], cell
    assert differs  # the demo's names tell the two orders apart
