"""deploy/broker_users.sh never re-keys the broker users of another checkout on the same broker.

A second checkout that set its own URLs, ports, database and vhost but kept the default CHIBO_BROKER_USER_PREFIX used
to change the passwords of the first checkout's users, whose services then lost their broker logins at their next
reconnect. Each test works in vhosts and with a user prefix of its own, and deletes them afterwards.
"""

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.broker_users import SCRIPT_SECONDS, SLOW

ROOT = Path(__file__).parents[2]
NAMES = ("meetings", "evaluation", "notifications", "gateway", "feed", "listen")

pytestmark = [pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs the broker's rabbitmqctl"), SLOW]


def rabbitmqctl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """One rabbitmqctl command, its output; CalledProcessError when it fails."""
    return subprocess.run(
        ["rabbitmqctl", "-q", *args], input=stdin, check=True, capture_output=True, text=True, timeout=60
    )


def users() -> set[str]:
    """The broker's user names."""
    return {line.split("\t")[0] for line in rabbitmqctl("--no-table-headers", "list_users").stdout.splitlines()}


def vhosts() -> set[str]:
    """The broker's vhost names."""
    return set(rabbitmqctl("--no-table-headers", "list_vhosts").stdout.splitlines())


def password_works(user: str, password: str, *, within: float = 60.0) -> bool:
    """Whether the broker accepts `password` for `user`, asked again until it does or `within` seconds pass (on a
    loaded machine the CLI's check can fail for a moment after the password was set: a CI run saw it once). The
    password goes on stdin, as deploy/broker_users.sh gives it: as an argument one starting with "-" (1 in 64 of
    `token_urlsafe`'s) is read as options and refused."""
    deadline = time.monotonic() + within
    while True:
        check = subprocess.run(
            ["rabbitmqctl", "-q", "authenticate_user", user], input=password.encode(), capture_output=True, timeout=60
        )
        if check.returncode == 0 or time.monotonic() > deadline:
            return check.returncode == 0
        time.sleep(0.5)


def broker_users(vhost: str, prefix: str, out: Path) -> subprocess.CompletedProcess[str]:
    """Run the script for `vhost` and `prefix` as `make up` does (guest as the admin); its outcome."""
    command = ["bash", str(ROOT / "deploy" / "broker_users.sh"), "--vhost", vhost, "--prefix", prefix]
    command += ["--admin", "guest", "--out", str(out)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=SCRIPT_SECONDS, check=False)


@pytest.fixture
def tag() -> Iterator[str]:
    """A name of this test's own; its vhosts (chibo-bu-TAG-*) and users (chibo-bu-TAG-*) deleted afterwards."""
    tag = f"chibo-bu-{uuid.uuid4().hex[:8]}"
    yield tag
    for vhost in vhosts():
        if vhost.startswith(f"{tag}-"):
            subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True, timeout=60)
    for user in users():
        if user.startswith(f"{tag}-"):
            subprocess.run(["rabbitmqctl", "-q", "delete_user", user], capture_output=True, timeout=60)


def test_a_user_of_the_prefix_with_permissions_in_another_vhost_is_refused_and_kept(tag: str, tmp_path: Path) -> None:
    prefix, other, own = f"{tag}-", f"{tag}-other", f"{tag}-own"
    # the other checkout's meetings user, with the same prefix, in its own vhost
    rabbitmqctl("add_vhost", other)
    rabbitmqctl("add_user", f"{prefix}meetings", stdin="other-secret")
    rabbitmqctl("set_permissions", "-p", other, f"{prefix}meetings", ".*", ".*", ".*")

    outcome = broker_users(own, prefix, tmp_path / "credentials.env")

    assert outcome.returncode != 0
    assert "CHIBO_BROKER_USER_PREFIX" in outcome.stderr
    assert f"vhost {other}" in outcome.stderr
    assert password_works(f"{prefix}meetings", "other-secret")
    # nothing changed: neither the vhost nor any other user of the prefix was created
    assert own not in vhosts()
    assert {user for user in users() if user.startswith(prefix)} == {f"{prefix}meetings"}


def test_the_same_checkout_re_keys_its_own_users_in_its_own_vhost(tag: str, tmp_path: Path) -> None:
    prefix, own, out = f"{tag}-", f"{tag}-own", tmp_path / "credentials.env"
    assert broker_users(own, prefix, out).returncode == 0
    # a password changed behind the script's back: the re-run is not "already as wanted" and sets the users up again
    rabbitmqctl("change_password", f"{prefix}meetings", stdin="changed")

    again = broker_users(own, prefix, out)

    assert again.returncode == 0, again.stderr
    kept = dict(line.split("=", 1) for line in out.read_text().splitlines())
    password = kept["CHIBO_AMQP_URL_MEETINGS"].split("@")[0].rsplit(":", 1)[1]
    assert password_works(f"{prefix}meetings", password)
    assert {user for user in users() if user.startswith(prefix)} == {f"{prefix}{name}" for name in NAMES}


def test_a_password_starting_with_a_dash_is_checked_as_a_password(tag: str) -> None:
    user = f"{tag}-dash"
    rabbitmqctl("add_user", user, stdin="-i8V4OawMzQohYjeXUgwbmVHCyoZXJhp")

    assert password_works(user, "-i8V4OawMzQohYjeXUgwbmVHCyoZXJhp")
    assert not password_works(user, "-wrong", within=0)
