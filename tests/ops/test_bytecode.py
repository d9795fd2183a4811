"""A process started after `deploy/bootstrap.sh` loads the project and its dependencies from bytecode.

PYTHONDONTWRITEBYTECODE=1 is set on this machine, in CI and in the image, so no process ever writes a .pyc: before
bootstrap wrote them, every service start and CLI compiled its whole import graph from source (a `make up` after
kill -9 took 162 s under load, `issue-token` over 60 s). Python still reads .pyc with that variable set, as long as
the .pyc matches its source's mtime and size (timestamp invalidation), so an edited source is never shadowed."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENTRY_MODULES = (
    "services/gateway/__main__.py",
    "services/gateway/main.py",
    "services/meetings/__main__.py",
    "services/meetings/main.py",
    "services/evaluation/__main__.py",
    "services/evaluation/main.py",
    "services/notifications/__main__.py",
    "services/notifications/main.py",
    "shared/ops/__main__.py",
    "shared/cli.py",
    "deploy/migrate.py",
    "deploy/mailsink.py",
)
"""The modules each `make up` process and operator command starts from."""
DEPENDENCIES = ("faststream", "pydantic", "asyncpg", "fastapi", "reportlab", "aio_pika")
"""Packages of the environment every service imports (their __init__ stands for the package)."""


def valid_timestamp_pyc(source: Path) -> bool:
    """The running interpreter's .pyc of `source` exists and is one it uses: timestamp-checked (not a hash
    flavour), for this very mtime and size of the source."""
    cached = Path(importlib.util.cache_from_source(str(source)))
    if not cached.is_file():
        return False
    header = cached.read_bytes()[:16]
    stat = source.stat()
    return (
        header[:4] == importlib.util.MAGIC_NUMBER
        and int.from_bytes(header[4:8], "little") == 0
        and int.from_bytes(header[8:12], "little") == int(stat.st_mtime) & 0xFFFFFFFF
        and int.from_bytes(header[12:16], "little") == stat.st_size & 0xFFFFFFFF
    )


def dependency_sources() -> list[Path]:
    """The __init__.py of each dependency in the environment running the tests."""
    sources = []
    for name in DEPENDENCIES:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, name
        sources.append(Path(spec.origin))
    return sources


def test_bootstrap_writes_the_bytecode_processes_start_from_even_with_dontwritebytecode() -> None:
    """Whatever bytecode there was is removed first, so the test sees bootstrap write it (a re-run writes only
    what is missing), with PYTHONDONTWRITEBYTECODE=1 in bootstrap's environment as on this machine."""
    sources = [ROOT / path for path in ENTRY_MODULES] + dependency_sources()
    for source in sources:
        Path(importlib.util.cache_from_source(str(source))).unlink(missing_ok=True)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run(["bash", str(ROOT / "deploy" / "bootstrap.sh")], cwd=ROOT, env=env, check=True, timeout=600)
    missing = [str(source) for source in sources if not valid_timestamp_pyc(source)]
    assert not missing, f"no usable {sys.implementation.cache_tag} bytecode for: {missing}"


def test_an_edited_source_is_not_shadowed_by_its_old_bytecode(tmp_path: Path) -> None:
    """Bytecode written by bootstrap's way (compileall, timestamp invalidation) is not used once the source changes:
    the process runs the edited source."""
    package = tmp_path / "edited"
    package.mkdir()
    module = package / "__init__.py"
    module.write_text("ANSWER = 1\n", encoding="utf-8")
    os.utime(module, (1_000_000_000, 1_000_000_000))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(tmp_path)}
    compile_ = [sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "timestamp", str(package)]
    subprocess.run(compile_, env=env, check=True, timeout=60)
    assert valid_timestamp_pyc(module)
    module.write_text("ANSWER = 22\n", encoding="utf-8")
    run = [sys.executable, "-c", "import edited; print(edited.ANSWER)"]
    assert subprocess.run(run, env=env, check=True, capture_output=True, text=True, timeout=60).stdout == "22\n"


def test_bytecode_is_never_committed() -> None:
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert "__pycache__/" in ignored and "*.pyc" in ignored


def test_the_image_compiles_chibo_and_its_dependencies() -> None:
    """The image runs with PYTHONDONTWRITEBYTECODE=1 as an unprivileged user who cannot write to /app: its bytecode
    is written at build time, the environment's by uv, chibo's own packages (an editable install uv does not
    compile) by compileall."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "UV_COMPILE_BYTECODE=1" in text
    build = text.split("FROM ", 2)[1]
    assert "compileall -q --invalidation-mode timestamp shared services deploy" in build
