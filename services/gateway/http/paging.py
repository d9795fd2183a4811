"""Keyset cursor paging of every /v1 list that pages: one cursor shape, signed and validated here, for all of them.

A cursor is the URL-safe base64 of `{"list", "after", "query"}` (the list's name, the sort key of the last row the
page before listed, the list's query parameters the first page was asked with), then `.` and its HMAC-SHA256 under a
key drawn from the gateway's secret. Reading one checks the signature, then validates the carried parameters by the
very types the list's query parameters have (a cursor says nothing a query parameter could not), so a cursor not
given by the list, tampered with, or carrying a value its query parameter refuses is refused with 422 naming
`query.cursor`; a query parameter given beside it must say what it says. `offset` pages as before, for
compatibility: it skips and repeats rows inserted meanwhile and costs more the farther in it reads."""

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from services.gateway.http.errors import ApiError
from services.gateway.schemas.common import CursorPage, Page
from shared.envelope import validation_message
from shared.keyset import After

CURSOR_FIELD = "query.cursor"
CURSOR_DESCRIPTION = (
    "Page by cursor (the way to read a list whole): empty (`?cursor=`) for the first page, then the `next` of the "
    "page before as it came, until `next` is null. Every row present when the reading began is listed exactly once "
    "however rows are added meanwhile, and each page costs the same however far in. The first page's other query "
    "parameters ride in the cursor (give them again only unchanged). Not with `offset`, kept for compatibility"
)
Cursor = Annotated[str | None, Query(max_length=2000, description=CURSOR_DESCRIPTION)]
"""The `?cursor=` parameter of every list that pages."""

_AFTER = TypeAdapter(After)


class Carried(BaseModel):
    """The query parameters a list's cursor carries; each list subclasses it with its parameters' own types."""

    model_config = ConfigDict(extra="forbid", frozen=True)


CarriedT = TypeVar("CarriedT", bound=Carried)


@dataclass(frozen=True)
class Position(Generic[CarriedT]):
    """Where a cursor page starts: after the key `after` (None: the first page), with the list's parameters."""

    after: list[str] | None
    query: CarriedT


def _refused(reason: str) -> ApiError:
    return ApiError(422, "invalid", f"{CURSOR_FIELD}: {reason}", field=CURSOR_FIELD)


def _key(secret: str) -> bytes:
    """The signing key of cursors, drawn from the gateway's secret (never the secret itself)."""
    return hmac.new(secret.encode(), b"chibo cursor v1", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_cursor(secret: str, *, list_name: str, after: list[str], query: Carried) -> str:
    """The signed opaque text of a page's `next`: the list `list_name` after the key `after`, asked with `query`."""
    body = json.dumps(
        {"list": list_name, "after": after, "query": query.model_dump(mode="json")}, separators=(",", ":")
    ).encode()
    payload = _b64(body)
    return f"{payload}.{_b64(hmac.new(_key(secret), payload.encode(), hashlib.sha256).digest())}"


def next_cursor(secret: str, *, list_name: str, after: list[str] | None, query: Carried) -> str | None:
    """The `next` of a page whose last row's key is `after`: None after the last page (`after` None)."""
    return None if after is None else encode_cursor(secret, list_name=list_name, after=after, query=query)


def read_cursor(
    secret: str,
    cursor: str,
    *,
    list_name: str,
    carried: type[CarriedT],
    given: dict[str, Any],
    offset: int = 0,
) -> Position[CarriedT]:
    """Where the page of `cursor` starts (`""`: the first, asked with the query parameters `given`, None for one
    not given); ApiError 422 naming `query.cursor` for a cursor beside an offset, not signed by this gateway, of
    another list, carrying a parameter its query parameter's rules refuse, or contradicted by a parameter `given`."""
    if offset:
        raise _refused("not with query.offset: a cursor says where its page starts, give one or the other")
    if cursor == "":
        return Position(after=None, query=carried.model_validate({k: v for k, v in given.items() if v is not None}))
    payload, _, signature = cursor.partition(".")
    try:
        expected = hmac.new(_key(secret), payload.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(_unb64(signature), expected):
            raise ValueError("signature")
        body = json.loads(_unb64(payload))
    except (ValueError, binascii.Error):
        raise _refused(
            "not a cursor this list gave: send the `next` of the previous page as it came, or an empty cursor for"
            " the first page"
        ) from None
    if not isinstance(body, dict) or body.get("list") != list_name:
        raise _refused("a cursor of another list: send the `next` this list's previous page gave")
    try:
        after = _AFTER.validate_python(body.get("after"))
        query = carried.model_validate(body.get("query"))
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error.get("loc", ())) or "value"
        raise _refused(f"{where}: {validation_message(error)}") from None
    for name, value in given.items():
        if value is not None and value != getattr(query, name):
            raise _refused(f"given with another query.{name} than its own: send the cursor without {name}")
    return Position(after=after, query=query)


def cursor_page(
    secret: str, list_name: str, items: list[Any], *, after: list[str] | None, query: Carried, limit: int
) -> dict[str, Any]:
    """A cursor page's answer (schemas.CursorPage): `items` (models or dicts), `limit`, and `next`, the signed
    cursor of the page after the key `after` (None after the last page)."""
    shown = [item.model_dump() if isinstance(item, BaseModel) else item for item in items]
    return {"items": shown, "limit": limit, "next": next_cursor(secret, list_name=list_name, after=after, query=query)}


async def service_page(
    secret: str,
    call: Callable[[Any], Awaitable[Any]],
    ask: Callable[..., Any],
    *,
    list_name: str,
    cursor: str | None,
    offset: int,
    limit: int,
) -> Any:
    """A page of a list with no query parameters but its paging, asked of a service by `call(ask(limit=, offset=))`
    or `call(ask(limit=, after=))` (a typed RPC request whose reply has `items` and `next_after`): the offset page as
    the service gives it (`cursor` None), else the cursor page (read_cursor, cursor_page); ApiError 422 as
    read_cursor."""
    if cursor is None:
        return (await call(ask(limit=limit, offset=offset))).model_dump()
    position = read_cursor(secret, cursor, list_name=list_name, carried=Carried, given={}, offset=offset)
    listed = await call(ask(limit=limit, after=position.after))
    return cursor_page(secret, list_name, listed.items, after=listed.next_after, query=position.query, limit=limit)


Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def paged_route(router: APIRouter, path: str, item: type[BaseModel], **options: Any) -> Callable[[Endpoint], Endpoint]:
    """The GET route of a list paged by `offset` or by `cursor` (read_cursor): its answer is a Page or a CursorPage
    of `item`; `options` as APIRouter.get takes them (tags, dependencies)."""
    return router.get(path, response_model=Page[item] | CursorPage[item], **options)  # type: ignore[valid-type]
