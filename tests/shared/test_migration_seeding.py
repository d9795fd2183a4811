"""A migration's test seeds its rows through today's code (a service's handlers over a pool) only on a database with
every migration: a database stopped before the migration is written by today's code, which reads the columns later
migrations add, so the test broke as soon as one did (0036's test, like 0031's before it). Such a test seeds a fully
migrated database and then runs the migration's statement (test_scores_not_begun_migration.py); a database stopped
at an older version is seeded with plain SQL of that version's schema only (the meetings migration tests)."""

import ast
import inspect
from pathlib import Path

from tests.support.private_db import private_database

TESTS = Path(__file__).resolve().parents[1]


def stopping_calls(path: Path) -> list[int]:
    """The lines of `path` calling private_database (whose pool today's code writes) with a stopping migration."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", getattr(node.func, "attr", None)) == "private_database"
        and any(keyword.arg == "before" for keyword in node.keywords)
    ]


def test_no_test_hands_today_s_code_a_database_stopped_before_a_migration() -> None:
    assert "before" not in inspect.signature(private_database).parameters
    stopped = {
        str(path.relative_to(TESTS)): lines for path in sorted(TESTS.rglob("*.py")) if (lines := stopping_calls(path))
    }
    assert stopped == {}
