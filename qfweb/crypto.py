"""Encryption of provider secrets stored in the database (RELIABILITY.md, credentials).

MultiFernet with QF_ENCRYPTION_KEYS, newest first: encrypting uses the first key,
decrypting tries all, so adding a key in front and re-encrypting rotates without downtime.
"""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnavailable(Exception):
    """A stored secret cannot be decrypted with the configured keys."""


def _fernet() -> MultiFernet:
    keys = settings.QF_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured(
            "QF_ENCRYPTION_KEYS must be set to store provider secrets in the database "
            "(generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')"
        )
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError:
        raise ImproperlyConfigured("QF_ENCRYPTION_KEYS holds a key that is not a Fernet key") from None


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnavailable("stored secret cannot be decrypted with QF_ENCRYPTION_KEYS") from None


def rotate(token: str) -> str:
    """The same secret, encrypted with the newest key."""
    return _fernet().rotate(token.encode()).decode()
