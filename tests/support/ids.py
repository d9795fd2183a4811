"""Per-test identifiers, so tests never depend on wiping tables."""

import uuid


def random_id(prefix: str) -> str:
    """A fresh identifier that satisfies the contract's id pattern."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def random_meeting_id() -> str:
    """A fresh meeting id."""
    return random_id("mtg")


def random_cell_id() -> str:
    """A fresh cell id."""
    return random_id("cell")


def random_member_id() -> str:
    """A fresh member id."""
    return random_id("mem")
