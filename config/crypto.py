"""Encryption at rest for secrets the server must read back (institutions' channel keys).

API tokens are only ever compared, so they are stored as hashes; a channel key
signs requests and must be recovered, so it is stored encrypted with a key that
lives in the environment, not in the database.
"""

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _fernet() -> MultiFernet:
    """CHANNEL_KEY_ENCRYPTION_KEY may list several comma-separated keys: the first
    encrypts, all decrypt, so the key can be rotated without a flag day."""
    configured = [key.strip() for key in settings.CHANNEL_KEY_ENCRYPTION_KEY.split(",") if key.strip()]
    if not configured:
        derived = hashlib.sha256(b"channel-key-encryption:" + settings.SECRET_KEY.encode()).digest()
        configured = [base64.urlsafe_b64encode(derived).decode()]
    try:
        return MultiFernet([Fernet(key) for key in configured])
    except ValueError as error:
        raise ImproperlyConfigured(f"CHANNEL_KEY_ENCRYPTION_KEY is not a valid Fernet key: {error}") from None


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored channel key cannot be decrypted: CHANNEL_KEY_ENCRYPTION_KEY changed "
            "without keeping the old key in the list."
        ) from None


def token_hash(secret: str) -> str:
    """SHA-256 is enough here: the secret is 256 random bits, not a password."""
    return hashlib.sha256(secret.encode()).hexdigest()


def token_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(token_hash(secret), stored_hash)


def new_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
