"""A realistic generated province: committees and cells at several depths, members, monitors, as CloudEvents."""

import json
import random
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any, TextIO

from services.meetings.bulk.history import CellPlan, write_history
from shared.envelope import now

SOURCE = "urn:generated:province"
"""The generated history stands for the national systems' feed and is sent as a feed sends it (the benchmark, the
replica test): under a feed's source, not a urn:chibo: one, which only this system's own producers may use."""
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

    def __init__(self, out: TextIO, *, prefix: str, at: datetime | None = None) -> None:
        self._out = out
        self._prefix = prefix
        self._time = (at or now()).isoformat()
        self.count = 0

    def write(self, event_type: str, data: dict[str, Any], *, at: datetime | None = None) -> None:
        """One event line, at the writer's shared time unless `at` is given."""
        self.count += 1
        envelope = {
            "specversion": "1.0",
            "id": f"{self._prefix}gen-{self.count}",
            "source": SOURCE,
            "type": event_type,
            "time": at.isoformat() if at is not None else self._time,
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


def generate_province(
    out: TextIO,
    *,
    cells: int,
    members: int,
    seed: int = 2026,
    prefix: str = "",
    months: int = 0,
    through: str | None = None,
) -> int:
    """Write the province's units, members and monitors (every id starting with `prefix`), then, when
    `months` > 0, every cell's meetings of the `months` months ending with `through` (`YYYY-MM`, default the
    last closed month in Vietnam); return the event count."""
    rng = random.Random(seed)
    first_month = None
    if months > 0:
        through = through or last_closed_month()
        first_month = months_back(through, months - 1)
    # with a history the tree is dated before its first meeting, so member snapshots are in force at every start
    start = datetime.fromisoformat(f"{first_month}-01T08:00:00+07:00") - timedelta(days=30) if first_month else None
    writer = ProvinceWriter(out, prefix=prefix, at=start)
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
    plans: list[CellPlan] = []
    for (cell_id, top), size in zip(cell_ids, _split(members, len(cell_ids), rng), strict=True):
        plan = CellPlan(cell_id=cell_id, monitor_id=f"{top}-uv{len(plans) % 12:02d}", committee_id=top)
        plans.append(plan)
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
                # drawn as before (the same names and facts follow), then kept at 18 or more at admission
                "birth_year": min(rng.randint(1945, 2004), admitted.year - 18),
                "admitted_on": admitted.isoformat(),
                "exempt": rng.random() < 0.03,
            }
            writer.write("member.upserted.v1", data)
            plan.members.append((str(data["id"]), bool(data["exempt"])))
    for plan in plans:
        writer.write(
            "monitor.assigned.v1",
            {
                "person_id": plan.monitor_id,
                "full_name": f"Ủy viên {plan.monitor_id}",
                "committee_id": plan.committee_id,
                "cell_id": plan.cell_id,
                "yearly_quota": 6,
            },
        )
    if first_month is not None:
        write_history(writer.write, plans, first_month=first_month, months=months, rng=rng)
    return writer.count


def last_closed_month() -> str:
    """The month before the current one in Vietnam, `YYYY-MM`."""
    today = now().date().replace(day=1) - timedelta(days=1)
    return f"{today:%Y-%m}"


def months_back(month: str, count: int) -> str:
    """The month `count` months before `month` (`YYYY-MM`); ValueError naming the shape if it is none."""
    try:
        year, number = (int(part) for part in month.split("-"))
    except ValueError:
        raise ValueError(f"through {month!r} is not a month like 2026-10") from None
    if not 1 <= number <= 12:
        raise ValueError(f"through {month!r} is not a month like 2026-10")
    index = year * 12 + number - 1 - count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
