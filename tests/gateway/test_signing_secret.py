"""CHIBO_JWT_SECRET may hold any text: a non-ASCII key is compared as UTF-8 bytes, not refused with a TypeError."""

import pytest

from services.gateway.bootstrap import GatewayState
from services.gateway.repository import SigningKeyMismatch, signing_secret


async def test_a_non_ascii_configured_key_is_kept_and_compared(state: GatewayState) -> None:
    original = await signing_secret(state.pool)
    key = "bí-mật-chi-bộ-đảng-ủy-2026"
    try:
        assert await signing_secret(state.pool, key, pin=True) == key
        assert await signing_secret(state.pool, key) == key
        with pytest.raises(SigningKeyMismatch):
            await signing_secret(state.pool, "khóa-khác-hẳn")
    finally:
        await signing_secret(state.pool, original, pin=True)
