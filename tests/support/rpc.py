"""Calling the typed RPC catalog from tests, reading the reply as the JSON it travelled as."""

from typing import Any

from shared.rpc import Request, RpcClient


async def ask(rpc: RpcClient, request: Request[Any], *, timeout: float | None = None) -> dict[str, Any]:
    """Call a method through the typed client; its reply as JSON-shaped data, for assertions."""
    reply = await rpc.call(request, timeout=timeout)
    data: dict[str, Any] = reply.model_dump(mode="json")
    return data
