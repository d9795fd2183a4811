"""Reading a /v1 list whole by `?cursor=` while rows are added between its pages: the pre-existing rows must each
come exactly once (offset pages skip and repeat them; services/gateway/http/paging.py)."""

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

Page = Callable[[str], Awaitable[dict[str, Any]]]
"""The answer to one cursor page of a list, given the cursor (`""` for the first page)."""


async def walk_inserting(
    page: Page,
    insert: Callable[[], Awaitable[None]],
    *,
    key: str,
    pages: int = 200,
    extra: frozenset[str] = frozenset(),
) -> list[Any]:
    """Every item's `key` of the list read page by page from `?cursor=` until `next` is null, `insert` run after each
    page (rows added while the list is read); `extra`: the list's fields beside a page's (`counts` of the
    rejections); AssertionError when the list has no last page within `pages`."""
    seen: list[Any] = []
    cursor = ""
    for _ in range(pages):
        body = await page(cursor)
        assert set(body) == {"items", "limit", "next"} | extra, body
        seen += [item[key] for item in body["items"]]
        if body["next"] is None:
            return seen
        cursor = body["next"]
        await insert()
    raise AssertionError(f"no last page after {pages}: {len(seen)} items")


def each_once(seen: list[Any], before: list[Any]) -> None:
    """AssertionError unless every key of `before` (the rows present when the reading began) is in `seen` exactly
    once, and no key is in `seen` twice."""
    counts = Counter(seen)
    twice = sorted(str(k) for k, n in counts.items() if n > 1)
    missing = sorted(str(k) for k in before if k not in counts)
    assert not twice and not missing, {"repeated": twice[:10], "missing": missing[:10], "read": len(seen)}
