"""Every 404 of the gateway's "unknown or not yours" (handlers.not_found) names the field its id came from, and says
the same about an id outside the caller's part of the tree as about an id nobody knows.

A trial read `"field": null` in the 404 of an unknown cell, meeting, task or committee while every other error (a
cancelled meeting's score among them) named its field. Here: every call of not_found (and of missing_as and found,
which raise it) in the services passes the field; every route of the role matrix (tests/gateway/test_matrix.py), each
path parameter and each `*_id` body field in turn given an id nobody knows, answers a 404 naming that parameter or
field; and every route's call on another cell's or committee's object answers a 404 equal to the unknown id's but for
the id (status, code, message, field), so the field tells nothing the message does not.
"""

import ast
import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.gateway.bootstrap import GatewayState
from tests.gateway.conftest import TokenFactory
from tests.gateway.fakes import World
from tests.gateway.test_matrix import MATRIX, ROLES, Context
from tests.support.ids import random_id

ROOT = Path(__file__).resolve().parents[2]
RAISERS = frozenset({"not_found", "missing_as", "found"})
"""handlers' helpers that answer the gateway's own 404: each call names the field its id came from."""
NOT_ITS_404 = {("POST", "/v1/events")}
"""Ingestion never answers 404 for an id: an event naming one outside the account is held as an unknown one is
(tests/meetings/test_scope_leaks.py)."""
NOT_LOOKED_UP = {
    "service": "one of three names, any other a 422 naming path.service",
    "task_id": "meetings holds a task's completion until the task arrives (tests/meetings), it answers no 404",
}
"""Path parameters an unknown value of which is no 404, and why."""


def raiser_calls() -> list[tuple[str, int, str, set[str]]]:
    """(file, line, helper, its keyword names) of every call of a RAISERS helper in the services."""
    calls = []
    for path in sorted((ROOT / "services").rglob("*.py")):
        if "node_modules" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name in RAISERS:
                keywords = {keyword.arg for keyword in node.keywords if keyword.arg is not None}
                calls.append((str(path.relative_to(ROOT)), node.lineno, name, keywords))
    return calls


def test_every_call_of_not_found_names_its_field() -> None:
    calls = raiser_calls()
    assert len(calls) >= 20, calls  # the finder finds them (23 when this was written)
    unnamed = [f"{path}:{line} {name}(...)" for path, line, name, keywords in calls if "field" not in keywords]
    assert not unnamed, f"404s that name no field (pass field= the path parameter or body field): {unnamed}"


@pytest.fixture(scope="module")
async def callers(
    headers: dict[str, dict[str, str]], token_for: TokenFactory, world: World
) -> dict[str, dict[str, str]]:
    """The matrix's callers, the integration account scoped to ward A (registering no source: the matrix's own
    account holds urn:test:matrix, and ingestion is not walked here)."""
    return {**headers, "integration": await token_for("integration", world.ward_a)}


def path_values(template: str, url: str) -> dict[str, str]:
    """The path parameters of `url` by the names of the route's `template` (`{cell_id}`)."""
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    matched = re.fullmatch(pattern, url.split("?", 1)[0])
    assert matched, (template, url)
    return matched.groupdict()


def unknown_like(value: Any) -> Any:
    """An id nobody knows, of the shape of `value` (a number, a UUID, a rule's name, an id)."""
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return 987654321 if isinstance(value, int) else "987654321"
    try:
        uuid.UUID(str(value))
        return str(uuid.uuid4())
    except ValueError:
        pass
    if re.fullmatch(r"[a-z_]+", str(value)):
        return "no_such_thing"
    return random_id("unknown")


def replaced(template: str, url: str, name: str, value: str) -> str:
    """`url` with its path parameter `name` set to `value`."""
    values = path_values(template, url) | {name: value}
    path = template.format(**values)
    return path + ("?" + url.split("?", 1)[1] if "?" in url else "")


async def send(
    client: httpx.AsyncClient, callers: dict[str, dict[str, str]], role: str, method: str, url: str, body: Any
) -> httpx.Response:
    headers = dict(callers[role])
    content = None
    if body is not None:
        content = json.dumps(body)
        headers["Content-Type"] = "application/json"
    return await client.request(method, url, content=content, headers=headers)


def ids_of(template: str, url: str, body: Any) -> dict[str, Any]:
    """The ids a call names: its path parameters and its body's top-level `*_id` fields, by their API names."""
    named: dict[str, Any] = dict(path_values(template, url))
    if isinstance(body, dict):
        named |= {key: value for key, value in body.items() if key.endswith("_id") and isinstance(value, str)}
    return named


def with_id(template: str, url: str, body: Any, name: str, value: Any) -> tuple[str, Any]:
    """The call with the id `name` (a path parameter or a body field) set to `value`."""
    if name in path_values(template, url):
        return replaced(template, url, name, str(value)), body
    return url, {**body, name: value}


def said_of(response: httpx.Response, *named: Any) -> tuple[int, str]:
    """(status, body) with each of the ids `named` written `<id>`: what the answer tells but for the id."""
    text = response.text
    for value in named:
        text = text.replace(str(value), "<id>")
    return response.status_code, text


WALKED = [pytest.param(operation, id=f"{operation[0]} {operation[1]}") for operation in MATRIX]


@pytest.mark.parametrize("operation", WALKED)
async def test_an_unknown_id_is_a_404_naming_its_field(
    client: httpx.AsyncClient,
    callers: dict[str, dict[str, str]],
    world: World,
    state: GatewayState,
    operation: tuple[str, str],
) -> None:
    """Each id of the route's call (path parameters, `*_id` body fields), in turn one nobody knows, by a role that may
    make the call: any 404 names that very field, and a path parameter's is a 404 (but NOT_LOOKED_UP's)."""
    method, template = operation
    if operation in NOT_ITS_404:
        return
    row = MATRIX[operation]
    role = next(role for role in ROLES if role in row.allowed)
    url, body = await row.inside(Context(world, state, role))
    in_path = path_values(template, url)
    for name, value in ids_of(template, url, body).items():
        unknown = unknown_like(value)
        asked_url, asked_body = with_id(template, url, body, name, unknown)
        response = await send(client, callers, role, method, asked_url, asked_body)
        if name in in_path and name not in NOT_LOOKED_UP:
            assert response.status_code == 404, (name, asked_url, response.text)
        if response.status_code == 404:
            assert response.json()["field"] == name, (name, asked_url, response.text)


OUTSIDE = [
    pytest.param(operation, role, id=f"{operation[0]} {operation[1]} {role}")
    for operation, row in MATRIX.items()
    if row.outside is not None and operation not in NOT_ITS_404
    for role in ROLES
    if role not in row.outside_allowed
]


@pytest.mark.parametrize(("operation", "role"), OUTSIDE)
async def test_an_id_outside_is_answered_as_an_unknown_one(
    client: httpx.AsyncClient,
    callers: dict[str, dict[str, str]],
    world: World,
    state: GatewayState,
    operation: tuple[str, str],
    role: str,
) -> None:
    """The call on another cell's or committee's object (the matrix's `outside`), answered 404 to a caller outside
    it, is answered the same, but for the id, when that id is one nobody knows: the field named too."""
    method, template = operation
    row = MATRIX[operation]
    assert row.outside is not None
    ctx = Context(world, state, role)
    url, body = await row.outside(ctx)
    inside_url, inside_body = await row.inside(ctx)
    outside_ids, inside_ids = ids_of(template, url, body), ids_of(template, inside_url, inside_body)
    differing = [name for name, value in outside_ids.items() if inside_ids.get(name) != value]
    assert differing, (url, body)  # the matrix's outside call names another object than its inside one
    name = differing[-1]
    answered = await send(client, callers, role, method, url, body)
    if answered.status_code != 404:
        return  # the role may never (403), or the matrix refuses otherwise (tests/gateway/test_matrix.py)
    assert answered.json()["field"] == name, answered.text
    unknown = unknown_like(outside_ids[name])
    unknown_url, unknown_body = with_id(template, url, body, name, unknown)
    missing = await send(client, callers, role, method, unknown_url, unknown_body)
    assert said_of(answered, outside_ids[name]) == said_of(missing, unknown), (answered.text, missing.text)
