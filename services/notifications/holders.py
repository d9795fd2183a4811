"""The delivery sender as the holder of the leases it takes: a row of its own in `delivery_holder`, beaten on.

A notifications process killed (kill -9) mid-round left the deliveries its round had leased and not sent waiting out
the whole lease (120 s) before another process, or itself restarted, sent them. Each sender now registers (its
instance id, host, pid and the pid namespace it lives in, HTTP port, start and its own bound) and beats every
`every_seconds`; a delivery whose holder is known dead is leased again at once (PgOutgoingRepository.claim_deliveries):
dead when its last beat is older than its own bound (the database's clock stamps the beats and judges them), or when a
process started later in the same pid namespace found its pid gone (the restarted service, `make up` after a kill -9).
A pid is judged only within its own namespace (boot and /proc/self/ns/pid): a replica in another container, whose pid
means nothing here though its host name may be the same, is left to its beats.

A live holder keeps its leases, however slow its mail server: its beats go on while it sends. It never sends a
delivery it may have lost: a send begins only while its last confirmed beat is younger than half its bound (a beat
that failed, or a process stalled, stops it from beginning sends long before another may take over), and a holder
found declared dead (its beat refused) takes a new instance id: what it leased under the old one is no longer its.
The services' RabbitMQ heartbeats (shared.instances) tell the gateway; this one lives beside the leases it guards,
so a lease and its holder's liveness are judged in one statement.
"""

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Callable

from services.notifications.unit_of_work import NotificationsUnitOfWork
from shared.background import raise_if_cancelling
from shared.instances import pid_alive
from shared.logs import get_logger

log = get_logger(__name__)

UowFactory = Callable[[], NotificationsUnitOfWork]


class DeliveryHolder:
    """This process's delivery sender as a lease holder (`instance`), beating every `every_seconds`, dead to the
    others once a beat is `stale_seconds` late (its own bound, stored with it)."""

    def __init__(
        self,
        *,
        every_seconds: float,
        stale_seconds: float,
        http_port: int | None = None,
        host: str | None = None,
        pid: int | None = None,
    ) -> None:
        if not 0 < every_seconds * 2 < stale_seconds:
            raise ValueError("stale_seconds must exceed twice every_seconds (a beat late once is no death)")
        self.instance = uuid.uuid4().hex
        self.every_seconds = every_seconds
        self.stale_seconds = stale_seconds
        self.http_port = http_port
        self.host = host if host is not None else socket.gethostname()
        self.pid = pid if pid is not None else os.getpid()
        self.pid_space = pid_space()
        self.registered = False
        self._confirmed: float | None = None
        """Monotonic time at which the last beat that the database accepted began."""

    def holds(self, instance: str) -> bool:
        """Whether this process may still send what it leased as `instance`: its instance now, and its last beat
        confirmed within half its bound (no other sender can have taken the lease over)."""
        confirmed = self._confirmed
        return (
            instance == self.instance
            and confirmed is not None
            and time.monotonic() - confirmed < self.stale_seconds / 2
        )

    async def register(self, uow_factory: UowFactory) -> list[str]:
        """Write this holder's row, and mark gone the holders of this host and pid namespace whose pid is gone (they
        are dead, not slow); the instances so found."""
        began = time.monotonic()
        async with uow_factory() as uow:
            db = uow.connection
            rows = await db.fetch(
                "SELECT instance, pid FROM delivery_holder WHERE host = $1 AND pid_space = $2 AND gone_at IS NULL"
                " AND instance <> $3",
                self.host,
                self.pid_space,
                self.instance,
            )
            gone = [row["instance"] for row in rows if row["pid"] != self.pid and not pid_alive(row["pid"])]
            if gone:
                await db.execute("UPDATE delivery_holder SET gone_at = now() WHERE instance = ANY($1::text[])", gone)
            await db.execute(
                "INSERT INTO delivery_holder (instance, host, pid, pid_space, http_port, stale_after_seconds)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                self.instance,
                self.host,
                self.pid,
                self.pid_space,
                self.http_port,
                self.stale_seconds,
            )
            # holders gone or silent for a day hold no lease that has not run out: their rows go
            await db.execute("DELETE FROM delivery_holder WHERE beat_at < now() - interval '1 day'")
            await uow.commit()
        self.registered, self._confirmed = True, began
        if gone:
            log.info("delivery_holders_found_gone", instances=gone, host=self.host)
        return gone

    async def beat(self, uow_factory: UowFactory) -> bool:
        """Stamp this holder alive (registering it first if it is not); False when its row was found dead (gone, or
        its beat already past its bound): it then takes a new instance id and registers anew."""
        if not self.registered:
            await self.register(uow_factory)
            return True
        began = time.monotonic()
        async with uow_factory() as uow:
            alive = await uow.connection.fetchval(
                "UPDATE delivery_holder SET beat_at = now() WHERE instance = $1 AND gone_at IS NULL"
                " AND beat_at >= now() - stale_after_seconds * interval '1 second' RETURNING true",
                self.instance,
            )
            await uow.commit()
        if alive:
            self._confirmed = began
            return True
        log.error("delivery_holder_found_dead", instance=self.instance)
        self.instance, self.registered, self._confirmed = uuid.uuid4().hex, False, None
        await self.register(uow_factory)
        return False

    async def keep_beating(self, uow_factory: UowFactory) -> None:
        """Beat every `every_seconds` until cancelled (a failed beat is logged and tried next time: the holder then
        stops beginning sends once half its bound has gone by)."""
        while True:
            try:
                await self.beat(uow_factory)
            except Exception as exc:
                raise_if_cancelling()
                log.warning("delivery_holder_beat_failed", error=repr(exc))
            await asyncio.sleep(self.every_seconds)

    async def leave(self, uow_factory: UowFactory) -> None:
        """Mark this holder gone (a clean stop, its rounds over): what it still leases is taken over at once."""
        self._confirmed = None
        if not self.registered:
            return
        async with uow_factory() as uow:
            await uow.connection.execute(
                "UPDATE delivery_holder SET gone_at = now() WHERE instance = $1", self.instance
            )
            await uow.commit()


def pid_space() -> str | None:
    """The boot and pid namespace this process's pid means something in (`<boot id>/pid:[<inode>]`); None when the
    system does not say (no /proc): no pid of another process is then judged."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as boot:
            return f"{boot.read().strip()}/{os.readlink('/proc/self/ns/pid')}"
    except OSError:
        return None
