"""Issue 11, fault 8: the demo's secret files are readable by their owner only (deploy/env.sh, deploy/up.sh)."""

import shutil
import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_env_sh_creates_secrets_600_and_tightens_old_ones(tmp_path: Path) -> None:
    shutil.copy(ROOT / "deploy" / "env.sh", tmp_path / "env.sh")
    (tmp_path / "var").mkdir()
    for name in ("jwt-secret", "demo-tokens.env"):  # left world-readable by an earlier version
        (tmp_path / "var" / name).write_text("old\n")
        (tmp_path / "var" / name).chmod(0o644)
    script = "umask 022; unset CHIBO_SECRET_KEY CHIBO_JWT_SECRET; source ./env.sh; echo ${CHIBO_JWT_SECRET:-none}"
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True)
    # the signing key is no longer a file nor an environment variable: the gateway keeps it in its schema
    assert result.stdout.strip() == "none"
    assert mode(tmp_path / "var" / "secret-key") == 0o600
    assert mode(tmp_path / "var" / "jwt-secret") == 0o600
    assert mode(tmp_path / "var" / "demo-tokens.env") == 0o600
    assert mode(tmp_path / "var") == 0o700


def test_up_sh_writes_the_demo_tokens_owner_only() -> None:
    up = (ROOT / "deploy" / "up.sh").read_text()
    assert "(umask 077 && cat >var/demo-tokens.env)" in up and "chmod 600 var/demo-tokens.env" in up
