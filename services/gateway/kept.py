"""The gateway's kept copies of what meetings answered (a unit, a person's membership): the last answer for each key
with when meetings gave it, kept to go on with while meetings does not answer, and only while it is young enough.

One age cap for every kept copy that decides access (KeptCopies.young): a unit's copy scopes a read for
CHIBO_UNIT_KEPT_SECONDS (handlers.UnitDirectory), a person's last membership answer lets a read through for
CHIBO_MEMBERSHIP_KEPT_SECONDS (membership.MembershipCheck). Past its cap a copy is as none: the read fails closed
(503 naming meetings), so a unit moved or a member moved or removed long before is never read through an old copy."""

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from cachetools import LRUCache

V = TypeVar("V")


class KeptCopies(Generic[V]):
    """The last answer per key (`max_entries` of them, least recently used first out) and its age on `timer`
    (seconds); `young` gives one at most `seconds` old."""

    def __init__(self, *, seconds: float, max_entries: int, timer: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._timer = timer
        self._copies: LRUCache[str, tuple[float, V]] = LRUCache(max_entries)

    def put(self, key: str, value: V) -> None:
        """Keep `value` as meetings' answer for `key`, given now."""
        self._copies[key] = (self._timer(), value)

    def pop(self, key: str) -> None:
        """Forget the answer of `key` (meetings no longer knows it)."""
        self._copies.pop(key, None)

    def last(self, key: str, default: V | None = None) -> V | None:
        """The last answer of `key` however old (`default` without one): for what a page shows, never for access."""
        found = self._copies.get(key)
        return found[1] if found is not None else default

    def has_young(self, key: str) -> bool:
        """Whether `key` has an answer at most `seconds` old (one that may decide access)."""
        found = self._copies.get(key)
        return found is not None and self._timer() - found[0] <= self.seconds

    def young(self, key: str, default: V | None = None) -> V | None:
        """The answer of `key` when it is at most `seconds` old, else `default`: the one that may decide access."""
        return self.last(key, default) if self.has_young(key) else default
