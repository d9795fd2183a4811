"""`make up` remembers the settings it started with (var/up.env, deploy/settings.sh). A fresh user's trial found a
checkout started with its own CHIBO_* variables (database, vhost, ports) forgotten as soon as they were no longer
exported: `make status` probed the default ports and printed "down" for four running services, and a `make up`
after a kill -9 would have started the killed service on the default database, vhost and ports, re-keying the
global `chibo-*` broker users of another checkout. Also: deploy/serve.sh starts a second process of a service with
what up.sh computes for it (its broker user, CHIBO_RPC_CALLERS, CHIBO_SYSTEM_PUBLISHERS).

Each test runs the real scripts in a directory of its own, with stand-ins for what would start the whole system."""

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.serving import health_answering

ROOT = Path(__file__).resolve().parents[2]
ANSWER = '{"status": "ok", "service": "meetings-of-this-checkout"}'


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def without_chibo() -> dict[str, str]:
    """This process's environment without any CHIBO_ variable (a new shell in the same checkout)."""
    return {name: value for name, value in os.environ.items() if not name.startswith("CHIBO_")}


def checkout(tmp_path: Path, *scripts: str) -> Path:
    """A directory holding the named deploy/ scripts as the checkout has them."""
    (tmp_path / "deploy").mkdir()
    for script in scripts:
        shutil.copy2(ROOT / "deploy" / script, tmp_path / "deploy" / script)
    return tmp_path


def stand_in(path: Path, body: str) -> None:
    """An executable bash script at `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/usr/bin/env bash\n{body}\n")
    path.chmod(0o755)


@pytest.fixture
def health_server() -> Iterator[int]:
    """A port whose /health answers ANSWER, as this checkout's meetings service would."""
    with health_answering(ANSWER) as port:
        yield port


def status(workdir: Path, env: dict[str, str]) -> dict[str, str]:
    """`make status` in `workdir`: each component's line, by name (its exit code says how they are: test_status)."""
    out = subprocess.run(
        ["bash", "deploy/status.sh"], cwd=workdir, env=env, capture_output=True, text=True, timeout=120
    ).stdout
    return {line.split(maxsplit=1)[0]: line.split(maxsplit=1)[1] for line in out.splitlines() if line.strip()}


def test_status_run_later_without_the_variables_probes_the_ports_make_up_started_with(
    tmp_path: Path, health_server: int
) -> None:
    workdir = checkout(tmp_path, "up.sh", "env.sh", "settings.sh", "status.sh")
    # `make up` ends at its first heavy step here: what it has done by then is what a real run has done
    stand_in(workdir / "deploy" / "bootstrap.sh", "echo 'bootstrap: stopped by the test' >&2; exit 3")
    own = {
        "CHIBO_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/chibo_own",
        "CHIBO_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/chibo-own",
        "CHIBO_BROKER_USER_PREFIX": "own-",
        "CHIBO_MEETINGS_PORT": str(health_server),
        "CHIBO_EVALUATION_PORT": str(free_port()),
        "CHIBO_NOTIFICATIONS_PORT": str(free_port()),
        "CHIBO_GATEWAY_PORT": str(free_port()),
        "CHIBO_SMTP_PORT": str(free_port()),
        "CHIBO_OIDC_ISSUER": "https://sso.example.vn/realms/tỉnh 'demo'",
    }
    up = subprocess.run(
        ["bash", "deploy/up.sh"], cwd=workdir, env=without_chibo() | own, capture_output=True, text=True, timeout=120
    )
    assert up.returncode == 3, up.stderr
    lines = status(workdir, without_chibo())
    assert lines["meetings"] == ANSWER
    assert lines["evaluation"] == lines["notifications"] == lines["gateway"] == "down"
    saved = workdir / "var" / "up.env"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600  # the URLs may hold passwords

    # every saved value comes back as it was given (quoting included), none derived from others is kept
    script = f'source deploy/env.sh && for n in {" ".join(own)}; do printf "%s=%s\\n" "$n" "${{!n}}"; done'
    echoed = subprocess.run(
        ["bash", "-c", script],
        cwd=workdir,
        env=without_chibo(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert dict(line.split("=", 1) for line in echoed.splitlines()) == own
    assert "CHIBO_SERVICE_HEALTH_URLS" not in saved.read_text()
    assert "CHIBO_SECRET_KEY" not in saved.read_text()

    # an exported variable wins over the saved one
    elsewhere = str(free_port())
    lines = status(workdir, without_chibo() | {"CHIBO_MEETINGS_PORT": elsewhere})
    assert lines["meetings"] == "down"
    health_urls = subprocess.run(
        ["bash", "-c", 'source deploy/env.sh && echo "$CHIBO_SERVICE_HEALTH_URLS"'],
        cwd=workdir,
        env=without_chibo() | {"CHIBO_MEETINGS_PORT": elsewhere},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert json.loads(health_urls)["meetings"] == f"http://127.0.0.1:{elsewhere}/health"


def test_broker_users_without_arguments_keys_this_checkouts_users_in_its_vhost(tmp_path: Path) -> None:
    workdir = checkout(tmp_path, "settings.sh", "broker_users.sh", "broker_permissions.sh")
    bin_dir = tmp_path / "bin"
    calls = tmp_path / "rabbitmqctl.calls"
    # a broker that holds nothing yet and records what it is asked
    stand_in(bin_dir / "rabbitmqctl", f'cat >/dev/null; echo "$*" >>"{calls}"')
    (workdir / "var").mkdir()
    (workdir / "var" / "up.env").write_text(
        "export CHIBO_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/chibo-own\nexport CHIBO_BROKER_USER_PREFIX=own-\n"
    )
    env = without_chibo() | {"PATH": f"{bin_dir}:{os.environ['PATH']}"}
    subprocess.run(
        ["bash", "deploy/broker_users.sh"], cwd=workdir, env=env, capture_output=True, text=True, check=True, timeout=60
    )
    asked = calls.read_text().splitlines()
    assert "-q add_vhost chibo-own" in asked
    users = {line.split()[2] for line in asked if line.startswith("-q add_user")}
    assert users == {f"own-{name}" for name in ("meetings", "evaluation", "notifications", "gateway", "feed", "listen")}
    assert not any(" -p / " in line for line in asked)


def test_a_second_process_gets_what_up_computes_for_the_service(tmp_path: Path) -> None:
    workdir = checkout(tmp_path, "env.sh", "settings.sh", "process_env.sh", "serve.sh")
    bin_dir = tmp_path / "bin"
    stand_in(bin_dir / "rabbitmqctl", "exit 1")  # on this host: each process has a broker user of its own
    # the service's interpreter: prints the environment and arguments it is started with
    python = tmp_path / "python"
    stand_in(python, 'env | grep "^CHIBO_"; echo "ARGS=$*"')
    var = workdir / "var"
    var.mkdir()
    (var / "up.env").write_text(
        "export CHIBO_AMQP_URL=amqp://admin:secret@127.0.0.1:5672/chibo-own\n"
        "export CHIBO_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/chibo_own\n"
    )
    (var / "broker-credentials.env").write_text(
        "CHIBO_AMQP_URL_MEETINGS=amqp://own-meetings:m@127.0.0.1:5672/chibo-own\n"
        "CHIBO_AMQP_URL_GATEWAY=amqp://own-gateway:g@127.0.0.1:5672/chibo-own\n"
    )
    env = without_chibo() | {"PATH": f"{bin_dir}:{os.environ['PATH']}", "CHIBO_SERVE_PYTHON": str(python)}
    out = subprocess.run(
        ["bash", "deploy/serve.sh", "meetings", "8611"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    started = dict(line.split("=", 1) for line in out.splitlines())
    assert started["CHIBO_AMQP_URL"] == "amqp://own-meetings:m@127.0.0.1:5672/chibo-own"
    assert started["CHIBO_DATABASE_URL"] == "postgresql://postgres@127.0.0.1:5432/chibo_own"
    assert started["CHIBO_HTTP_PORT"] == "8611"
    assert json.loads(started["CHIBO_RPC_CALLERS"]) == ["own-gateway"]
    assert json.loads(started["CHIBO_SYSTEM_PUBLISHERS"]) == ["admin"]
    assert started["ARGS"] == "-m services.meetings serve"

    (var / "broker-credentials.env").unlink()
    missing = subprocess.run(
        ["bash", "deploy/serve.sh", "meetings", "8611"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 1
    assert "make up" in missing.stderr


def test_make_down_stops_a_process_serve_sh_started(tmp_path: Path) -> None:
    # `make down` knew only the pid files of `make up`: a second process started with deploy/serve.sh kept running
    workdir = checkout(tmp_path, "env.sh", "settings.sh", "process_env.sh", "serve.sh", "pids.sh", "down.sh")
    bin_dir = tmp_path / "bin"
    stand_in(bin_dir / "rabbitmqctl", "exit 1")  # a broker user per process, as up.sh sets them up
    # the service's interpreter: a real process whose command line is the service's (`-m services.evaluation serve`)
    python = tmp_path / "python"
    stand_in(python, f'exec {sys.executable} -c "import time; time.sleep(300)" "$@"')
    var = workdir / "var"
    var.mkdir()
    (var / "broker-credentials.env").write_text(
        "CHIBO_AMQP_URL_EVALUATION=amqp://own-evaluation:e@127.0.0.1:5672/chibo-own\n"
        "CHIBO_AMQP_URL_GATEWAY=amqp://own-gateway:g@127.0.0.1:5672/chibo-own\n"
    )
    env = without_chibo() | {"PATH": f"{bin_dir}:{os.environ['PATH']}", "CHIBO_SERVE_PYTHON": str(python)}
    port = free_port()
    serving = subprocess.Popen(
        ["bash", "deploy/serve.sh", "evaluation", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        pidfile = var / "run" / f"serve-evaluation-{port}.pid"
        deadline = time.monotonic() + 60
        cmdline = Path(f"/proc/{serving.pid}/cmdline")
        # the pid file is written, and the shell has become the service's process
        while not (pidfile.exists() and b"services.evaluation" in cmdline.read_bytes()):
            assert serving.poll() is None and time.monotonic() < deadline, "serve.sh started no service process"
            time.sleep(0.05)
        assert int(pidfile.read_text()) == serving.pid  # the service's own process (serve.sh execs it)

        down = subprocess.run(
            ["bash", "deploy/down.sh"], cwd=workdir, env=env, capture_output=True, text=True, timeout=120
        )
        assert down.returncode == 0, down.stderr
        assert serving.wait(timeout=30) is not None
        assert f"down: stopped evaluation-{port}" in down.stdout
        assert not pidfile.exists()
    finally:
        if serving.poll() is None:
            serving.kill()
            serving.wait()


def test_up_env_keeps_only_what_was_given_so_a_changed_default_reaches_the_checkout(tmp_path: Path) -> None:
    # var/up.env kept the defaults `make up` used: once written, a default changed later never reached this checkout
    workdir = checkout(tmp_path, "up.sh", "env.sh", "settings.sh")
    stand_in(workdir / "deploy" / "bootstrap.sh", "echo 'bootstrap: stopped by the test' >&2; exit 3")
    var = workdir / "var"
    var.mkdir()
    # a file of the earlier version: a default (the gateway's port) saved beside what the user gave
    (var / "up.env").write_text(
        "export CHIBO_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/chibo_own\nexport CHIBO_GATEWAY_PORT=8000\n"
    )
    given = {"CHIBO_MEETINGS_PORT": "8611"}
    up = subprocess.run(
        ["bash", "deploy/up.sh"], cwd=workdir, env=without_chibo() | given, capture_output=True, text=True, timeout=120
    )
    assert up.returncode == 3, up.stderr
    saved = [line for line in (var / "up.env").read_text().splitlines() if not line.startswith("#")]
    assert saved == [
        "export CHIBO_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/chibo_own",
        "export CHIBO_MEETINGS_PORT=8611",
    ]

    # a later version changes the gateway's default port: the checkout gets it, and keeps what it was given
    env_sh = workdir / "deploy" / "env.sh"
    env_sh.write_text(env_sh.read_text().replace("[CHIBO_GATEWAY_PORT]=8000", "[CHIBO_GATEWAY_PORT]=8010"))
    script = 'source deploy/env.sh && echo "$CHIBO_GATEWAY_PORT $CHIBO_MEETINGS_PORT $CHIBO_DATABASE_URL"'
    echoed = subprocess.run(
        ["bash", "-c", script], cwd=workdir, env=without_chibo(), capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    assert echoed == ["8010", "8611", "postgresql://postgres@127.0.0.1:5432/chibo_own"]
