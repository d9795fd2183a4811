"""A unit looked up before it exists and created right after is found by the next lookup: the gateway kept meetings'
"not found" as long as a unit (30 s), so an account made for a new unit, or its page, was refused for 30 s."""

from services.gateway.bootstrap import GatewayState
from services.gateway.handlers import TtlCache
from tests.gateway.fakes import World
from tests.support.ids import random_id


async def test_a_unit_created_after_a_lookup_found_it_missing_is_found_at_once(
    app_and_state: tuple[object, GatewayState], world: World
) -> None:
    directory = app_and_state[1].directory  # as the app builds it, asking the fake meetings over RabbitMQ
    cell, other = random_id("cell"), random_id("cell")
    assert await directory.get(cell) is None
    assert await directory.known([other]) == set()
    world.add_unit(cell, "Chi bộ mới", "cell", world.ward_a)
    world.add_unit(other, "Chi bộ mới khác", "cell", world.ward_a)
    found = await directory.get(cell)
    assert found is not None and found.id == cell
    assert await directory.known([other]) == {other}


def test_a_unit_found_is_kept_its_time_and_a_miss_only_its_own() -> None:
    now = [0.0]
    cache = TtlCache(seconds=30, clock=lambda: now[0])
    cache.put("unit", {"id": "unit"})
    cache.put("missing", None, seconds=0)
    cache.put("briefly", None, seconds=2)
    assert cache.get("missing") == (False, None)
    assert cache.get("briefly") == (True, None)
    now[0] = 3
    assert cache.get("briefly") == (False, None) and cache.get("unit") == (True, {"id": "unit"})
