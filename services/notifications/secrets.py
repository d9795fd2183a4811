"""Per-recipient webhook secrets sealed at rest with Fernet (AES-128-CBC + HMAC-SHA256) under CHIBO_SECRET_KEY."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken


class UnreadableSecret(ValueError):
    """A sealed secret that the configured key cannot open (the key changed, or the value was altered)."""


class SecretBox:
    """Seals and opens short secrets with a key derived from the service's secret key setting."""

    def __init__(self, secret_key: str) -> None:
        # any passphrase works as CHIBO_SECRET_KEY: Fernet wants 32 url-safe base64 bytes, so derive them
        digest = hashlib.sha256(secret_key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, secret: str) -> str:
        """The encrypted, authenticated token of a secret."""
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, token: str) -> str:
        """The secret inside a token; UnreadableSecret when this key did not seal it."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise UnreadableSecret("the webhook secret cannot be opened with CHIBO_SECRET_KEY") from exc


def secret_box(secret_key: str) -> SecretBox | None:
    """A box for the key, or None when no key is configured (secrets then cannot be stored)."""
    return SecretBox(secret_key) if secret_key else None
