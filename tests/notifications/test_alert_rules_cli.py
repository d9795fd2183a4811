"""`python -m shared.ops alert-rules list|set|reset`: operators changed a committee's alert settings only through the
API or the page. The command line does it over notifications' RPC through the API's own code (shared/alert_rules.py:
the same change, check and answer) and is audited like it, in gateway.audit_log."""

import asyncio
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from services.notifications.bootstrap import build_app
from services.notifications.config import Settings
from shared.db import apply_migrations, migration_files
from shared.periods import VIETNAM_TZ
from tests.notifications.events import Province
from tests.notifications.fakes import Clock
from tests.notifications.test_handlers import handle
from tests.shared.test_ops_cli import ops, run_ops
from tests.support.running import running_app

ROOT = Path(__file__).parents[2]


async def audited(database_url: str, committee: str) -> list[tuple[str, str, int, dict[str, Any]]]:
    """(method, path, status, detail) of the audit rows naming the committee, oldest first."""
    conn = await asyncpg.connect(database_url, server_settings={"search_path": "gateway"})
    try:
        rows = await conn.fetch(
            "SELECT method, path, status, detail FROM audit_log WHERE detail->>'committee_id' = $1 ORDER BY id",
            committee,
        )
    finally:
        await conn.close()
    return [(row["method"], row["path"], row["status"], json.loads(row["detail"])) for row in rows]


async def test_an_operator_lists_sets_and_resets_a_committees_alert_rules_from_the_command_line(
    pool: asyncpg.Pool, settings: Settings, amqp_url: str, database_url: str
) -> None:
    await apply_migrations(database_url, schema="gateway", files=migration_files(ROOT / "services" / "gateway"))
    p = Province()
    await handle(pool, settings, Clock(datetime.now(VIETNAM_TZ)), *p.setup())
    committee = ("--committee", p.committee)
    rule = (*committee, "--rule", "consecutive_absences")

    def cli(*args: str) -> Any:
        return ops(amqp_url, database_url, "alert-rules", *args)

    async with running_app(build_app(settings)):
        listed = await asyncio.to_thread(cli, "list", *committee)
        [before] = [item for item in listed["rules"] if item["rule"] == "consecutive_absences"]
        assert (before["enabled"], before["enabled_from"]["origin"], before["params"]) == (
            True,
            "default",
            {"more_than": 3},
        )

        changed = await asyncio.to_thread(cli, "set", *rule, "--off", "--param", "more_than=5")
        assert (changed["enabled"], changed["params"]) == (False, {"more_than": 5})
        assert changed["enabled_from"] == {"origin": "this_committee", "unit_id": p.committee}
        back = await asyncio.to_thread(cli, "reset", *rule, "--enabled")
        assert (back["enabled"], back["enabled_from"]["origin"], back["params"]) == (True, "default", {"more_than": 5})
        back = await asyncio.to_thread(cli, "reset", *rule, "--param", "more_than")
        assert back["params"] == {"more_than": 3} and back["params_from"]["more_than"]["origin"] == "default"

        wrong = await asyncio.to_thread(
            run_ops, amqp_url, database_url, "alert-rules", "set", *rule, "--param", "more_than=99"
        )
        assert wrong.returncode == 4 and "params.more_than" in wrong.stderr
        empty = await asyncio.to_thread(run_ops, amqp_url, database_url, "alert-rules", "reset", *rule)
        assert empty.returncode == 4 and "enabled" in empty.stderr
        unknown = await asyncio.to_thread(
            run_ops, amqp_url, database_url, "alert-rules", "set", *committee, "--rule", "no_such_rule", "--on"
        )
        assert unknown.returncode == 1 and "not found" in unknown.stderr
        nowhere = await asyncio.to_thread(
            run_ops, amqp_url, database_url, "alert-rules", "list", "--committee", "no-such-committee"
        )
        assert nowhere.returncode == 1 and "not found" in nowhere.stderr

    path = f"/cli/committees/{p.committee}/alert-rules/consecutive_absences"
    rows = await audited(database_url, p.committee)
    assert [(method, where, status) for method, where, status, _ in rows] == [
        ("CLI", path, 200),
        ("CLI", path, 200),
        ("CLI", path, 200),
        ("CLI", path, 422),
        ("CLI", f"/cli/committees/{p.committee}/alert-rules/no_such_rule", 404),
    ]
    assert rows[0][3] == {
        "committee_id": p.committee,
        "rule": "consecutive_absences",
        "enabled": False,
        "params": {"more_than": 5},
    }
    assert rows[1][3]["reset_enabled"] is True and rows[2][3]["params"] == {"more_than": None}


async def test_a_non_finite_value_is_refused_naming_the_field_once_and_keeps_the_setting(
    pool: asyncpg.Pool, settings: Settings, amqp_url: str, database_url: str
) -> None:
    """`--param settle_minutes=NaN` was read by the loose json.loads, travelled as null and erased the committee's
    value (exit 0, audited 200); a refusal named its field twice (`params.x: params.x: ...`)."""
    await apply_migrations(database_url, schema="gateway", files=migration_files(ROOT / "services" / "gateway"))
    p = Province()
    await handle(pool, settings, Clock(datetime.now(VIETNAM_TZ)), *p.setup())
    rule = ("--committee", p.committee, "--rule", "meeting_rated_low")
    async with running_app(build_app(settings)):
        set_ = await asyncio.to_thread(
            ops, amqp_url, database_url, "alert-rules", "set", *rule, "--param", "settle_minutes=45"
        )
        assert set_["params"]["settle_minutes"] == 45
        for value in ("NaN", "Infinity", "-Infinity", "1e999"):
            refused = await asyncio.to_thread(
                run_ops, amqp_url, database_url, "alert-rules", "set", *rule, "--param", f"settle_minutes={value}"
            )
            assert refused.returncode == 4, refused.stderr
            assert refused.stderr.count("params.settle_minutes") == 1 and "Traceback" not in refused.stderr
        wrong = await asyncio.to_thread(
            run_ops, amqp_url, database_url, "alert-rules", "set", *rule, "--param", "settle_minutes=99999"
        )
        assert wrong.returncode == 4 and wrong.stderr.count("params.settle_minutes") == 1, wrong.stderr
        twice = await asyncio.to_thread(
            run_ops, amqp_url, database_url, "alert-rules", "set", *rule, "--param", 'ratings=["poor","poor"]'
        )
        assert twice.returncode == 4 and "params.ratings" in twice.stderr, twice.stderr
        listed = await asyncio.to_thread(ops, amqp_url, database_url, "alert-rules", "list", "--committee", p.committee)
    [kept] = [item for item in listed["rules"] if item["rule"] == "meeting_rated_low"]
    assert (
        kept["params"]["settle_minutes"] == 45 and kept["params_from"]["settle_minutes"]["origin"] == "this_committee"
    )
    statuses = [status for _, _, status, _ in await audited(database_url, p.committee)]
    assert statuses == [200, 422, 422, 422, 422, 422, 422]


async def test_a_broker_user_the_service_does_not_take_calls_from_is_one_line_and_exit_5(
    pool: asyncpg.Pool, settings: Settings, amqp_url: str, database_url: str
) -> None:
    """With the default CHIBO_AMQP_URL (a user not in notifications' CHIBO_RPC_CALLERS) the command ended in a
    traceback `shared.rpc.RpcError: this caller may not use this service`."""
    await apply_migrations(database_url, schema="gateway", files=migration_files(ROOT / "services" / "gateway"))
    p = Province()
    await handle(pool, settings, Clock(datetime.now(VIETNAM_TZ)), *p.setup())
    guarded = settings.model_copy(update={"rpc_callers": ["chibo-gateway"]})
    async with running_app(build_app(guarded)):
        for args in (("list",), ("set", "--rule", "meeting_rated_low", "--off")):
            result = await asyncio.to_thread(
                run_ops, amqp_url, database_url, "alert-rules", args[0], "--committee", p.committee, *args[1:]
            )
            assert result.returncode == 5, result.stderr
            # the line naming the vhost and database acted on, then the refusal's one line
            assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 2
            assert "CHIBO_RPC_CALLERS" in result.stderr and "CHIBO_AMQP_URL_GATEWAY" in result.stderr
