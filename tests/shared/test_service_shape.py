"""The one service shape (docs/architecture.md, "One shape"), checked over the source tree."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"
ROLES = [
    "rpc.py",
    "background.py",
    "consumers.py",
    "context.py",
    "handlers",
    "domain",
    "repository",
    "unit_of_work.py",
    "queries.py",
    "bootstrap.py",
    "config.py",
    "main.py",
]
GATEWAY_ROLES = ["http", "schemas", "handlers", "repository", "queries.py", "bootstrap.py", "config.py", "main.py"]
"""The gateway answers no RPC and consumes no queue: http/ and schemas/ instead of consumers, rpc and domain."""
FASTSTREAM_PRIVATE_PARTS = {"_outer_config", "_broker_middlewares"}
"""A FastStream subscriber's private attributes: only shared/context.py reaches them (light_delivery)."""


def python_files(under: Path) -> list[Path]:
    """Every .py file below a folder."""
    return sorted(path for path in under.rglob("*.py") if "__pycache__" not in path.parts)


def imported_modules(path: Path) -> set[str]:
    """The modules a file imports (absolute names)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("service", ["meetings", "evaluation", "notifications"])
def test_every_service_has_the_same_role_files(service: str) -> None:
    missing = [role for role in ROLES if not (SERVICES / service / role).exists()]
    assert missing == []


def test_the_gateway_has_its_documented_shape() -> None:
    assert [role for role in GATEWAY_ROLES if not (SERVICES / "gateway" / role).exists()] == []


@pytest.mark.parametrize("service", ["meetings", "evaluation", "notifications", "gateway"])
def test_nothing_under_repository_imports_handlers(service: str) -> None:
    for path in python_files(SERVICES / service / "repository"):
        assert not [name for name in imported_modules(path) if name.startswith(f"services.{service}.handlers")], path


def test_services_import_only_shared_and_themselves() -> None:
    for service in ("meetings", "evaluation", "notifications", "gateway"):
        for path in python_files(SERVICES / service):
            others = {
                name
                for name in imported_modules(path)
                if name.startswith("services.") and not name.startswith(f"services.{service}")
            }
            assert others == set(), path


def test_rpc_calls_name_no_method_strings_and_nothing_reaches_private_framework_parts() -> None:
    for path in python_files(SERVICES) + python_files(ROOT / "shared") + python_files(ROOT / "tests"):
        if path == Path(__file__).resolve():
            continue
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "call":
                assert not (node.args and isinstance(node.args[0], ast.Constant)), f"{path}:{node.lineno}"
            if isinstance(node, ast.Attribute) and node.attr == "_connection":
                assert path.name == "outbox.py", f"{path}:{node.lineno}"  # the relay's own attribute
            if isinstance(node, ast.Attribute) and node.attr in FASTSTREAM_PRIVATE_PARTS:
                assert path == ROOT / "shared" / "context.py", f"{path}:{node.lineno}"
        if path != ROOT / "shared" / "context.py":
            assert not [name for name in imported_modules(path) if "._internal" in name], path
