"""Whether the broker already holds the users deploy/broker_users.sh sets up, so that a re-run can leave them be.

    python3 deploy/broker_check.py --vhost VHOST <wanted

Standard input holds one wanted user per line, tab-separated: name, password, configure, write and read patterns in
VHOST, then the exchange and write pattern of its topic permission (both empty for none). The broker's definitions come
from one `rabbitmqctl -q export_definitions -` (a rabbitmqctl call costs about a second; setting every user up again
takes some twenty). Exit 0 when VHOST exists and every user exists with that password and exactly those permissions,
1 otherwise, naming the first difference on stderr. Standard library only, as the script that runs it.
"""

import argparse
import base64
import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

HASHES = {
    "rabbit_password_hashing_sha256": "sha256",
    "rabbit_password_hashing_sha512": "sha512",
    "rabbit_password_hashing_md5": "md5",
}
"""RabbitMQ's password hashing modules and the digests they use (a 4-byte salt, then digest(salt + password))."""
TOPIC_READ = ".*"
"""The read pattern broker_users.sh gives every topic permission."""


@dataclass(frozen=True)
class Wanted:
    """One user as broker_users.sh would leave it."""

    user: str
    password: str
    configure: str
    write: str
    read: str
    topic_exchange: str
    topic_write: str


def parse_wanted(text: str) -> list[Wanted]:
    """The wanted users of standard input's lines; ValueError for a line without its seven fields."""
    wanted = []
    for line in text.splitlines():
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != 7:
            raise ValueError(f"expected 7 tab-separated fields, got {len(fields)}")
        wanted.append(Wanted(*fields))
    return wanted


def password_matches(user: dict[str, Any], password: str) -> bool:
    """True when the exported user's salted hash is `password`'s; False for an unknown hashing module."""
    digest = HASHES.get(user.get("hashing_algorithm", ""))
    if digest is None or not user.get("password_hash"):
        return False
    stored = base64.b64decode(user["password_hash"])
    salt, hashed = stored[:4], stored[4:]
    return hashlib.new(digest, salt + password.encode()).digest() == hashed


MANAGEMENT_TAG = "management"
"""The gateway's user reads the queues' figures from the management API (shared.broker_api): this tag lets a user see
the queues of the vhosts it has permissions in, nothing more (no definitions, no other vhost, no other user)."""


def _tags(user: dict[str, Any]) -> set[str]:
    tags = user.get("tags") or []
    return set(tags.split(",") if isinstance(tags, str) else tags)


def differences(definitions: dict[str, Any], vhost: str, wanted: list[Wanted]) -> list[str]:
    """What the exported `definitions` lack of `wanted` in `vhost`, one sentence each; [] when nothing."""
    if vhost not in {v["name"] for v in definitions.get("vhosts", [])}:
        return [f"vhost {vhost} does not exist"]
    users = {u["name"]: u for u in definitions.get("users", [])}
    permissions = {p["user"]: p for p in definitions.get("permissions", []) if p["vhost"] == vhost}
    topics = {(t["user"], t["exchange"]): t for t in definitions.get("topic_permissions", []) if t["vhost"] == vhost}
    found = []
    for want in wanted:
        if want.user not in users:
            found.append(f"user {want.user} does not exist")
            continue
        if not password_matches(users[want.user], want.password):
            found.append(f"user {want.user} has another password")
        granted = permissions.get(want.user, {})
        if (granted.get("configure"), granted.get("write"), granted.get("read")) != (
            want.configure,
            want.write,
            want.read,
        ):
            found.append(f"user {want.user} has other permissions in {vhost}")
        if want.user.endswith("gateway") and MANAGEMENT_TAG not in _tags(users[want.user]):
            found.append(f"user {want.user} lacks the {MANAGEMENT_TAG} tag")
        if want.topic_exchange:
            topic = topics.get((want.user, want.topic_exchange), {})
            if (topic.get("write"), topic.get("read")) != (want.topic_write, TOPIC_READ):
                found.append(f"user {want.user} has another topic permission on {want.topic_exchange}")
    return found


def main() -> int:
    """Compare the broker with standard input's wanted users: 0 when they match, 1 otherwise."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vhost", required=True)
    args = parser.parse_args()
    wanted = parse_wanted(sys.stdin.read())
    export = subprocess.run(
        ["rabbitmqctl", "-q", "export_definitions", "-"], capture_output=True, text=True, timeout=120, check=False
    )
    if export.returncode != 0:
        print(f"broker_check: export_definitions failed: {export.stderr.strip()}", file=sys.stderr)
        return 1
    found = differences(json.loads(export.stdout), args.vhost, wanted)
    if found:
        print(f"broker_check: {found[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
