"""The hash an unknown name's sign-in is verified against: no argon2 work at import, the cost of a real one."""

import subprocess
import sys

from argon2 import PasswordHasher

from services.gateway.web import sessions


def test_importing_the_sign_in_module_hashes_nothing() -> None:
    """The gateway's start used to spend 0.6-2 s hashing a dummy password at import: argon2's hash must not run."""
    probe = (
        "import argon2\n"
        "def refuse(*args, **kwargs):\n"
        "    raise SystemExit('argon2 hash computed at import')\n"
        "argon2.PasswordHasher.hash = refuse\n"
        "import services.gateway.web.sessions\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr or done.stdout


def test_the_dummy_hash_has_the_parameters_of_a_real_one() -> None:
    """Timing-equal refusals: the dummy hash is verified with the parameters real passwords are hashed with."""
    dummy = sessions._dummy_hash()
    real = sessions.hash_password("mật khẩu thật")
    assert not PasswordHasher().check_needs_rehash(dummy)
    assert sessions._hasher.check_needs_rehash(dummy) is False
    assert dummy.split("$")[:4] == real.split("$")[:4]
    assert dummy == sessions._WRITTEN_DUMMY_HASH
