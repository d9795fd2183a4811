"""Run the JavaScript side of the partner tests with the machine's Node.js and the SDK `npm ci` installed."""

import asyncio
import os
import shutil

from tests.support.system import ROOT

NODE_MODULES = ROOT / "docs" / "examples" / "node_modules"
"""Where deploy/bootstrap.sh installs the locked npm packages (docs/examples/package-lock.json)."""


async def run_node(script: str, *args: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> bytes:
    """Run `node script args...` from the repository root; its stdout, or AssertionError with its stderr."""
    node = shutil.which("node")
    assert node, "Node.js is needed for the JavaScript SDK tests"
    assert (NODE_MODULES / "cloudevents").is_dir(), "run deploy/bootstrap.sh (npm ci in docs/examples)"
    process = await asyncio.create_subprocess_exec(
        node,
        script,
        *args,
        cwd=ROOT,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES), **(env or {})},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout=240)
    assert process.returncode == 0, f"node {script} {' '.join(args)} failed:\n{err.decode(errors='replace')}"
    return out
