"""The bulk path on a small generated province: same validation, set-based apply, outbox, holds, duplicates."""

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg

from services.meetings.bulk.generate import generate_province
from services.meetings.bulk.load import bulk_load
from services.meetings.repository.bulk import LOADED_TABLES
from shared.contracts.registry import read_event
from shared.envelope import parse_envelope
from tests.support.ids import random_id
from tests.support.running import eventually


def province(path: Path, prefix: str, *, cells: int = 40, members: int = 700) -> list[str]:
    """Generate a province file and return its lines."""
    with path.open("w", encoding="utf-8") as out:
        generate_province(out, cells=cells, members=members, prefix=prefix)
    return path.read_text(encoding="utf-8").splitlines()


async def counts(db: asyncpg.Connection, prefix: str) -> dict[str, int]:
    """Rows the load wrote for this prefix."""
    like = prefix + "%"
    return {
        "cells": await db.fetchval("SELECT count(*) FROM meetings.org_unit WHERE id LIKE $1 AND kind = 'cell'", like),
        "members": await db.fetchval("SELECT count(*) FROM meetings.member WHERE id LIKE $1", like),
        "monitors": await db.fetchval("SELECT count(*) FROM meetings.monitor_assignment WHERE cell_id LIKE $1", like),
        "outbox": await db.fetchval("SELECT count(*) FROM meetings.outbox WHERE payload->>'originid' LIKE $1", like),
        "held": await db.fetchval("SELECT count(*) FROM meetings.held_event WHERE event_id LIKE $1", like),
    }


async def analyze_counts(db: asyncpg.Connection) -> dict[str, int]:
    """How many times each table the bulk load grows was analyzed, as the statistics system reports it now."""
    await db.execute("SELECT pg_stat_clear_snapshot()")
    rows = await db.fetch(
        "SELECT relname, analyze_count FROM pg_stat_user_tables WHERE schemaname = 'meetings'"
        " AND relname = ANY($1::text[])",
        LOADED_TABLES,
    )
    return {row["relname"]: row["analyze_count"] for row in rows}


async def test_loads_a_province_and_reloading_it_changes_nothing(meetings_pool, db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prefix = random_id("bulk") + "-"
    lines = province(tmp_path / "province.jsonl", prefix)
    analyzed_before = await analyze_counts(db)
    report = await bulk_load(tmp_path / "province.jsonl", meetings_pool, chunk_size=250, progress=False)
    analyzed = await analyze_counts(db)
    assert sorted(analyzed) == sorted(LOADED_TABLES)
    assert all(analyzed[table] > analyzed_before.get(table, 0) for table in LOADED_TABLES)  # the load ends analyzing
    assert report.events == len(lines) and report.outcomes["accepted"] == len(lines) and report.peak_rss_mb > 0
    assert await counts(db, prefix) == {"cells": 40, "members": 700, "monitors": 40, "outbox": len(lines), "held": 0}
    secretaries = await db.fetchval(
        "SELECT count(*) FROM meetings.member WHERE id LIKE $1 AND role = 'secretary'", prefix + "%"
    )
    assert secretaries == 40
    probation = await db.fetchval(
        "SELECT count(*) FROM meetings.member WHERE id LIKE $1 AND status = 'probationary'"
        " AND probation_ends_on = admitted_on + interval '1 year'",
        prefix + "%",
    )
    assert probation == await db.fetchval(
        "SELECT count(*) FROM meetings.member WHERE id LIKE $1 AND status = 'probationary'", prefix + "%"
    )
    again = await bulk_load(tmp_path / "province.jsonl", meetings_pool, chunk_size=1000, progress=False)
    assert again.outcomes["duplicate"] == len(lines)
    assert (await counts(db, prefix))["outbox"] == len(lines)


async def test_a_file_saved_with_a_byte_order_mark_and_crlf_loads_as_without(meetings_pool, db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Windows tools save "UTF-8" with a BOM (Notepad, Excel, PowerShell) and CRLF line ends; the CSV tables were read
    with utf-8-sig already, but a JSON-lines file's first line, the province's root, was rejected ("Unexpected UTF-8
    BOM") and every unit, member and meeting under it held. A BOM is the file's, not the event's (RFC 8259 8.1 lets a
    reader ignore it); a BOM inside a line is still the event's and judged as such."""
    prefix = random_id("bulk") + "-"
    lines = province(tmp_path / "province.jsonl", prefix, cells=4, members=40)
    path = tmp_path / "windows.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(line + "\r\n" for line in lines).encode("utf-8"))
    report = await bulk_load(path, meetings_pool, chunk_size=20, progress=False)
    assert report.outcomes == {"accepted": len(lines), "duplicate": 0, "held": 0, "rejected": 0}
    assert await counts(db, prefix) == {"cells": 4, "members": 40, "monitors": 4, "outbox": len(lines), "held": 0}


async def test_members_before_their_cells_wait_and_bad_lines_are_rejected(meetings_pool, db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prefix = random_id("bulk") + "-"
    lines = province(tmp_path / "province.jsonl", prefix, cells=6, members=60)
    committee = json.loads(lines[1])["data"]["id"]
    bad_member = json.loads(lines[-1]) | {"id": prefix + "bad-1", "type": "member.upserted.v1"}
    bad_member["data"] = {"id": prefix + "dvX", "full_name": "Lê Văn Sai", "cell_id": committee, "status": "official"}
    shuffled = list(reversed(lines)) + ["{broken", json.dumps(bad_member, ensure_ascii=False)]
    path = tmp_path / "reversed.jsonl"
    path.write_text("\n".join(shuffled) + "\n", encoding="utf-8")
    report = await bulk_load(path, meetings_pool, chunk_size=20, progress=False)
    assert report.outcomes["rejected"] == 2 and report.outcomes["held"] > 0
    loaded = await counts(db, prefix)
    assert (loaded["cells"], loaded["members"], loaded["monitors"], loaded["held"]) == (6, 60, 6, 0)
    reason = await db.fetchval("SELECT field FROM meetings.rejection WHERE event_id = $1", prefix + "bad-1")
    assert reason == "data.cell_id"


async def test_a_bulk_loaded_cell_without_a_parent_is_rejected_with_its_code(meetings_pool, db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A cell with `parent_id` null would be a second root that no officer sees (a user trial's): the bulk load
    refuses it as the ingest path does, naming `data.parent_id`, its code stored for the web's wording."""
    prefix = random_id("bulkroot") + "-"
    lines = province(tmp_path / "province.jsonl", prefix, cells=2, members=6)
    cell = next(json.loads(line) for line in lines if '"kind":"cell"' in line)
    rooted = cell | {"id": prefix + "root-cell", "data": {**cell["data"], "id": prefix + "cb-root", "parent_id": None}}
    path = tmp_path / "rooted.jsonl"
    path.write_text("\n".join([*lines, json.dumps(rooted, ensure_ascii=False)]) + "\n", encoding="utf-8")
    report = await bulk_load(path, meetings_pool, chunk_size=20, progress=False)
    assert report.outcomes["rejected"] == 1
    row = await db.fetchrow("SELECT field, refusal FROM meetings.rejection WHERE event_id = $1", prefix + "root-cell")
    assert row is not None and row["field"] == "data.parent_id"
    assert json.loads(row["refusal"])["code"] == "unit_without_parent"
    assert await db.fetchval("SELECT count(*) FROM meetings.org_unit WHERE id = $1", prefix + "cb-root") == 0


def test_the_commands_generate_and_load_a_province(database_url: str, tmp_path: Path) -> None:
    out = tmp_path / "cli.jsonl"
    env = {"CHIBO_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    generated = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.meetings",
            "generate-province",
            "--cells",
            "5",
            "--members",
            "40",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert json.loads(generated.stdout)["events"] == len(out.read_text(encoding="utf-8").splitlines())
    loaded = subprocess.run(
        [sys.executable, "-m", "services.meetings", "bulk-load", str(out)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    summary = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert summary["events"] > 0 and {"elapsed_seconds", "events_per_second", "peak_rss_mb"} <= set(summary)
    # the summary names what it analyzed, as its table_analyzed lines on stderr do (at CHIBO_LOG_LEVEL)
    # (the schema is shared with the other tests of this file: at least the 40 members loaded here)
    analyzed = {row["table"]: row for row in summary["analyzed"]}
    assert sorted(analyzed) == sorted(LOADED_TABLES)
    assert analyzed["member"]["planned_rows"] >= 40 and analyzed["org_unit"]["planned_rows"] > 0


def run_load(database_url: str, *args: str) -> tuple[int, dict[str, Any]]:
    """`python -m services.meetings bulk-load ARGS`: exit code and the JSON summary it printed last."""
    env = {"CHIBO_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "services.meetings", "bulk-load", *args], capture_output=True, text=True, env=env
    )
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


async def test_bulk_load_reads_csv_tables_through_the_same_validation(database_url: str, db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prefix = random_id("csv") + "-"
    committee, cell = prefix + "xa", prefix + "cb1"
    units = tmp_path / "units.csv"
    units.write_text(
        "id,name,kind,parent_id,category,contact_emails\n"
        f"{cell},Chi bộ thôn Đông,cell,{committee},residential,bithu@example.vn; vanphong@example.vn\n"
        f"{committee},Đảng ủy xã Tân Lập,committee,,,\n",
        encoding="utf-8",
    )
    members = tmp_path / "members.csv"
    members.write_text(
        "id,full_name,cell_id,status,role,admitted_on,exempt,birth_year\n"
        f"{prefix}m1,Nguyễn Thị Hoa,{cell},official,secretary,2010-03-02,false,1975\n"
        f"{prefix}m2,Trần Văn Bình,{cell},probationary,,2026-05-19,,\n"
        f"{prefix}m3,Lê Văn Sai,{cell},chairman,member,,,\n"
        f"{prefix}m4,Phạm Văn Xa,{committee},official,,,,\n",
        encoding="utf-8",
    )
    tables = ("--units", str(units), "--members", str(members), "--as-of", "2026-11-01T08:00:00+07:00")
    code, summary = await asyncio.to_thread(run_load, database_url, *tables)
    assert code == 0 and summary["events"] == 6
    # the cell's row comes before its committee's: held at its row as one at a time, released by the committee's
    assert summary["outcomes"] == {"accepted": 3, "duplicate": 0, "held": 1, "rejected": 2}
    units_found = await db.fetch(
        "SELECT id, kind, parent_id, contact_emails::text AS emails, version_time FROM meetings.org_unit"
        " WHERE id LIKE $1",
        prefix + "%",
    )
    assert {(r["id"], r["kind"], r["parent_id"], r["emails"]) for r in units_found} == {
        (committee, "committee", None, "[]"),
        (cell, "cell", committee, '["bithu@example.vn", "vanphong@example.vn"]'),
    }
    assert all(r["version_time"].isoformat() == "2026-11-01T01:00:00+00:00" for r in units_found)
    members_found = await db.fetch(
        "SELECT id, role, status, admitted_on::text AS admitted, probation_ends_on::text AS ends, birth_year"
        " FROM meetings.member WHERE id LIKE $1",
        prefix + "%",
    )
    assert {tuple(r.values()) for r in members_found} == {
        (f"{prefix}m1", "secretary", "official", "2010-03-02", None, 1975),
        (f"{prefix}m2", "member", "probationary", "2026-05-19", "2027-05-19", None),
    }
    rejected = await db.fetch(
        "SELECT raw::jsonb->'data'->>'id' AS member, field FROM meetings.rejection WHERE raw LIKE $1",
        f"%{prefix}m%",
    )
    assert {(r["member"], r["field"]) for r in rejected} == {
        (f"{prefix}m3", "data.status"),
        (f"{prefix}m4", "data.cell_id"),
    }
    code, again = await asyncio.to_thread(run_load, database_url, *tables)
    assert code == 0 and again["outcomes"]["duplicate"] == 4 and again["outcomes"]["accepted"] == 0
    members.write_text("id,full_name,cell_id,status,nickname\n", encoding="utf-8")
    code, refused = await asyncio.to_thread(run_load, database_url, "--members", str(members))
    assert code == 2 and "nickname" in refused["error"]


async def test_every_fact_a_bulk_load_republishes_reads_back_through_the_contract(
    meetings_pool: asyncpg.Pool, db: asyncpg.Connection, tmp_path: Path
) -> None:
    prefix = random_id("bulkread") + "-"
    province(tmp_path / "province.jsonl", prefix, cells=5, members=60)
    await bulk_load(tmp_path / "province.jsonl", meetings_pool, chunk_size=250, progress=False)
    rows = await db.fetch("SELECT payload FROM meetings.outbox WHERE payload->>'originid' LIKE $1", prefix + "%")
    assert rows
    types = set()
    for row in rows:
        payload = row["payload"] if isinstance(row["payload"], dict) else json.loads(row["payload"])
        event = read_event(parse_envelope(payload))  # raises InvalidEvent naming the field
        types.add(event.type)
    assert "org.unit.upserted.v1" in types  # the root unit (parent_id null) included


async def test_a_csv_row_that_breaks_its_table_stops_the_load_after_every_row_before_it(  # type: ignore[no-untyped-def]
    database_url: str, db, tmp_path: Path
) -> None:
    prefix = random_id("csvstop") + "-"
    committee, cell = prefix + "xa", prefix + "cb1"
    units = tmp_path / "units.csv"
    units.write_text(f"id,name,kind,parent_id\n{committee},Đảng ủy xã,committee,\n{cell},Chi bộ 1,cell,{committee}\n")
    members = tmp_path / "members.csv"
    rows = [f"{prefix}m{n},Nguyễn Văn {n},{cell},official" for n in range(1, 4)]
    members.write_text("id,full_name,cell_id,status\n" + "\n".join(rows) + f"\n{prefix}m9,X,{cell},official,extra\n")
    tables = ("--units", str(units), "--members", str(members), "--chunk-size", "2")
    code, refused = await asyncio.to_thread(run_load, database_url, *tables)
    assert code == 2 and "members.csv" in refused["error"]
    loaded = await db.fetch("SELECT id FROM meetings.member WHERE id LIKE $1 ORDER BY id", prefix + "%")
    assert [row["id"] for row in loaded] == [f"{prefix}m1", f"{prefix}m2", f"{prefix}m3"]


async def test_a_bulk_load_leaves_its_tables_analyzed_unchanged(database_url: str, db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # the load's connections' pending table counters, flushed after its closing ANALYZE, counted as changed since it:
    # the services' statistics maintenance then analyzed every loaded table again (shared/statistics.py)
    out = tmp_path / "flush.jsonl"
    province(out, "flush", cells=4, members=30)
    before = {row["pid"] for row in await db.fetch(BACKENDS_SQL)}
    code, summary = run_load(database_url, str(out))
    assert code == 0 and summary["outcomes"]["accepted"] > 0

    async def load_backends_gone() -> bool:  # a backend exiting flushes whatever it still held
        return {row["pid"] for row in await db.fetch(BACKENDS_SQL)} <= before

    await eventually(load_backends_gone, timeout=20)
    changed = await db.fetch(
        "SELECT relname, n_mod_since_analyze FROM pg_stat_user_tables WHERE schemaname = 'meetings'"
        " AND relname = ANY($1::text[])",
        ["member", "member_version", "org_unit"],
    )
    assert {row["relname"]: row["n_mod_since_analyze"] for row in changed} == {
        "member": 0,
        "member_version": 0,
        "org_unit": 0,
    }


BACKENDS_SQL = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'"
    " AND pid <> pg_backend_pid()"
)


async def test_the_summary_says_what_became_of_lines_held_at_their_place_and_counts_exactly(  # type: ignore[no-untyped-def]
    meetings_pool, db, tmp_path: Path, capsys
) -> None:
    """A trial's file had 3,000 members before their cell: the summary said `"held": 3000` though all were applied
    by the end, and the progress bar read 3.00k for 3,005 lines. The held lines' fate is told (`held_then`, `final`),
    and the bar counts lines exactly."""
    prefix = random_id("bulk") + "-"
    lines = province(tmp_path / "province.jsonl", prefix, cells=2, members=1010)
    path = tmp_path / "reversed.jsonl"
    path.write_text("\n".join(reversed(lines)) + "\n", encoding="utf-8")
    report = await bulk_load(path, meetings_pool, chunk_size=5000, progress=True)
    held = report.outcomes["held"]
    assert held >= 1010, report.outcomes
    assert report.held_then == {"released": held, "rejected": 0, "still_held": 0}
    assert report.final == {"accepted": len(lines), "duplicate": 0, "held": 0, "rejected": 0}
    assert (await counts(db, prefix))["held"] == 0
    bar = capsys.readouterr().err
    assert f"{len(lines)}/{len(lines)}" in bar and "k/" not in bar, bar[-300:]
