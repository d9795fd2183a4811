"""What the tests of request bodies share: every body model, a body with one value replaced, and a command sent as
the secretary about a fresh meeting of the world's cell A1."""

from typing import Any

import httpx
from pydantic import BaseModel

from services.gateway.schemas.common import CreateModel
from tests.gateway.fakes import World
from tests.support.ids import random_id


def request_bodies() -> set[type[BaseModel]]:
    """Every request body's model (the subclasses of CreateModel, at any depth) defined so far."""
    seen: set[type[BaseModel]] = set()
    todo: list[type[BaseModel]] = [CreateModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    return seen


def put(body: Any, path: str, value: Any) -> Any:
    """`body` (copied) with the value at the dotted `path` (list indexes as numbers) replaced."""
    head, _, rest = path.partition(".")
    if isinstance(body, list):
        items = list(body)
        items[int(head)] = put(items[int(head)], rest, value) if rest else value
        return items
    return {**body, head: put(body[head], rest, value) if rest else value}


async def send_command(
    client: httpx.AsyncClient, headers: dict[str, dict[str, str]], world: World, command: str, body: dict[str, Any]
) -> httpx.Response:
    """`body` sent as the secretary to `command` (tests.gateway.test_command_bodies.COMMANDS) about a new meeting."""
    from tests.gateway.test_command_bodies import COMMANDS  # the catalog's test module imports this one

    method, path, *_rest = COMMANDS[command]
    meeting = random_id("mtg")
    world.meetings[meeting] = world._meeting(meeting, world.cell_a1)
    url = path.format(cell=world.cell_a1, meeting=meeting)
    return await client.request(method, url, json=body, headers=headers["secretary"])
