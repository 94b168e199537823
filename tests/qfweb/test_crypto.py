from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from qfweb import crypto


def test_it_round_trips_and_never_stores_the_plaintext():
    token = crypto.encrypt("sk-secret-value")
    assert "sk-secret-value" not in token
    assert crypto.decrypt(token) == "sk-secret-value"


def test_rotation_re_encrypts_with_the_newest_key(settings):
    old = settings.QF_ENCRYPTION_KEYS[0]
    token = crypto.encrypt("sk-secret-value")
    settings.QF_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old]
    rotated = crypto.rotate(token)
    settings.QF_ENCRYPTION_KEYS = settings.QF_ENCRYPTION_KEYS[:1]
    assert crypto.decrypt(rotated) == "sk-secret-value"
    with pytest.raises(crypto.SecretUnavailable):
        crypto.decrypt(token)


def test_it_needs_keys_to_store_secrets(settings):
    settings.QF_ENCRYPTION_KEYS = []
    with pytest.raises(ImproperlyConfigured, match="QF_ENCRYPTION_KEYS must be set"):
        crypto.encrypt("x")


def test_it_refuses_a_malformed_key(settings):
    settings.QF_ENCRYPTION_KEYS = ["not-a-key"]
    with pytest.raises(ImproperlyConfigured, match="not a Fernet key"):
        crypto.encrypt("x")
