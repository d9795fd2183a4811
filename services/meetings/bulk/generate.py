"""A realistic generated province: committees and cells at several depths, members, monitors, as CloudEvents."""

import json
import random
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any, TextIO

from shared.envelope import now

SOURCE = "urn:chibo:generator"
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quốc", "Thu", "Xuân"]
GIVEN = [
    "An",
    "Bình",
    "Cường",
    "Dũng",
    "Hà",
    "Hải",
    "Hạnh",
    "Hoa",
    "Hùng",
    "Lan",
    "Long",
    "Mai",
    "Nam",
    "Phúc",
    "Quang",
    "Sơn",
    "Tâm",
    "Thảo",
    "Trang",
    "Tuấn",
    "Việt",
    "Yến",
]
SECTORS = ["Đảng bộ các cơ quan Đảng tỉnh", "Đảng bộ UBND tỉnh", "Đảng bộ Công an tỉnh", "Đảng bộ Quân sự tỉnh"]
SECTOR_CATEGORIES = ["agency", "public_service", "police", "military"]
COMMUNE_CATEGORIES = ["residential", "residential", "residential", "school", "public_service", "private_enterprise"]


class ProvinceWriter:
    """Writes one CloudEvent per line, with sequential ids and one shared time."""

    def __init__(self, out: TextIO, *, prefix: str) -> None:
        self._out = out
        self._prefix = prefix
        self._time = now().isoformat()
        self.count = 0

    def write(self, event_type: str, data: dict[str, Any]) -> None:
        """One event line."""
        self.count += 1
        envelope = {
            "specversion": "1.0",
            "id": f"{self._prefix}gen-{self.count}",
            "source": SOURCE,
            "type": event_type,
            "time": self._time,
            "datacontenttype": "application/json",
            "data": data,
        }
        self._out.write(json.dumps(envelope, ensure_ascii=False, separators=(",", ":")))
        self._out.write("\n")


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` spread over `parts` buckets, each at least 1, with realistic unevenness."""
    weights = [rng.uniform(0.5, 1.5) for _ in range(parts)]
    scale = (total - parts) / sum(weights)
    counts = [1 + int(w * scale) for w in weights]
    for i in range(total - sum(counts)):
        counts[i % parts] += 1
    return counts


def _cell_slots(cells: int, rng: random.Random) -> Iterator[tuple[str, str | None, int]]:
    """(kind, name, size) plans: mostly grassroots committees of 10–40 cells, some grassroots cells."""
    remaining = cells
    while remaining > 0:
        if rng.random() < 0.08 or remaining < 3:
            remaining -= 1
            yield ("cell", None, 1)
        else:
            size = min(remaining, rng.randint(10, 40))
            remaining -= size
            yield ("committee", None, size)


def generate_province(out: TextIO, *, cells: int, members: int, seed: int = 2026, prefix: str = "") -> int:
    """Write the province's units, members and monitors (every id starting with `prefix`); return the event count."""
    rng = random.Random(seed)
    writer = ProvinceWriter(out, prefix=prefix)
    province = f"{prefix}prov"
    writer.write("org.unit.upserted.v1", {"id": province, "name": "Tỉnh ủy", "kind": "committee", "parent_id": None})
    communes = max(1, min(100, cells // 40))
    parents: list[tuple[str, str]] = []
    for c in range(communes):
        unit_id = f"{prefix}xa{c:03d}"
        kind = "Đảng ủy phường" if c % 4 == 0 else "Đảng ủy xã"
        writer.write(
            "org.unit.upserted.v1",
            {"id": unit_id, "name": f"{kind} {c + 1}", "kind": "committee", "parent_id": province},
        )
        parents.append((unit_id, rng.choice(COMMUNE_CATEGORIES)))
    for s, name in enumerate(SECTORS):
        unit_id = f"{prefix}nganh{s}"
        writer.write("org.unit.upserted.v1", {"id": unit_id, "name": name, "kind": "committee", "parent_id": province})
        parents.append((unit_id, SECTOR_CATEGORIES[s]))
    cell_ids: list[tuple[str, str]] = []  # (cell, the commune or sector it belongs to)
    grassroots = 0
    for kind, _, size in _cell_slots(cells, rng):
        top, category = parents[rng.randrange(len(parents))] if rng.random() < 0.15 else parents[grassroots % communes]
        if kind == "cell":
            cell_id = f"{prefix}cb{len(cell_ids):06d}"
            writer.write(
                "org.unit.upserted.v1",
                {
                    "id": cell_id,
                    "name": f"Chi bộ cơ sở {len(cell_ids) + 1}",
                    "kind": "cell",
                    "parent_id": top,
                    "category": category,
                },
            )
            cell_ids.append((cell_id, top))
            continue
        grassroots += 1
        committee_id = f"{prefix}dbcs{grassroots:05d}"
        writer.write(
            "org.unit.upserted.v1",
            {"id": committee_id, "name": f"Đảng bộ cơ sở {grassroots}", "kind": "committee", "parent_id": top},
        )
        for _ in range(size):
            cell_id = f"{prefix}cb{len(cell_ids):06d}"
            writer.write(
                "org.unit.upserted.v1",
                {
                    "id": cell_id,
                    "name": f"Chi bộ {len(cell_ids) + 1}",
                    "kind": "cell",
                    "parent_id": committee_id,
                    "category": category,
                },
            )
            cell_ids.append((cell_id, top))
    today = date.today()
    member_number = 0
    for (cell_id, _), size in zip(cell_ids, _split(members, len(cell_ids), rng), strict=True):
        for position in range(size):
            member_number += 1
            probationary = rng.random() < 0.08
            role = "secretary" if position == 0 else "deputy_secretary" if position == 1 else "member"
            if size >= 9 and 2 <= position <= 4:
                role = "committee_member"
            admitted = today - timedelta(days=rng.randint(10, 360) if probationary else rng.randint(400, 18000))
            data = {
                "id": f"{prefix}dv{member_number:07d}",
                "full_name": f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
                "cell_id": cell_id,
                "status": "probationary" if probationary else "official",
                "role": role,
                "gender": rng.choice(["male", "female"]),
                "birth_year": rng.randint(1945, 2004),
                "admitted_on": admitted.isoformat(),
                "exempt": rng.random() < 0.03,
            }
            writer.write("member.upserted.v1", data)
    for index, (cell_id, top) in enumerate(cell_ids):
        person = f"{top}-uv{index % 12:02d}"
        writer.write(
            "monitor.assigned.v1",
            {
                "person_id": person,
                "full_name": f"Ủy viên {person}",
                "committee_id": top,
                "cell_id": cell_id,
                "yearly_quota": 6,
            },
        )
    return writer.count
