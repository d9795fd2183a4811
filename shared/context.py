"""How a subscriber receives its service's one typed context object (settings, pool, unit-of-work factory).

The runtime puts one object per service into FastStream's context under the service's name; a
subscriber declares `app: Annotated[MeetingsContext, ServiceContext("meetings")]`.

This is the one place that builds on a FastStream class outside its public API
(`faststream._internal.context.Context`): fast_depends runs a custom field's synchronous `use` in a
worker thread, one hop per parameter and message, and at the month-start spike those hops and their
wake-ups cost the single busy event loop more than the lookup itself, so the lookup is declared
async here. If FastStream changes that class, only this module needs to follow.
"""

from typing import Any

from faststream._internal.context import Context as _ContextField


class ServiceContext(_ContextField):
    """A FastStream Context field resolved on the event loop (no worker-thread hop per message)."""

    async def use(self, /, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        """Resolve the context value without leaving the event loop."""
        return super().use(**kwargs)
