from __future__ import annotations

import hashlib
import hmac
import re

import pytest

from personas import keys
from personas.keys import (
    api_key_issue,
    api_key_revoke,
    api_key_verify,
    checksum,
    generate_key,
    hash_key,
    parse_key,
)
from personas.models import ApiKey
from qfweb.redact import redact

KEY_SHAPE = re.compile(r"^qf_[0-9A-Za-z]{8}_[0-9A-Za-z]{38}$")


def test_it_generates_keys_in_the_github_style_format():
    prefix, plaintext = generate_key()
    assert KEY_SHAPE.match(plaintext)
    assert plaintext.startswith(prefix + "_") and len(prefix) == 11
    assert plaintext[-6:] == checksum(plaintext[:-6])
    assert parse_key(plaintext) == prefix


def test_it_pads_the_checksum_to_six_characters():
    assert checksum("") == "000000"  # crc32("") == 0
    assert all(len(checksum(f"qf_{i}")) == 6 for i in range(200))


def test_it_makes_a_new_key_every_time():
    assert len({generate_key()[1] for _ in range(100)}) == 100


@pytest.mark.parametrize(
    "mangle",
    [
        lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"),  # checksum character changed
        lambda k: k[:20] + ("x" if k[20] != "x" else "y") + k[21:],  # secret changed, checksum kept
        lambda k: k.replace("qf_", "qx_", 1),
        lambda k: k[:-1],
        lambda k: k + "0",
        lambda k: k.replace("_", "-"),
        lambda k: "",
        lambda k: None,
    ],
)
def test_it_rejects_malformed_keys_and_bad_checksums_offline(mangle):
    _, plaintext = generate_key()
    assert parse_key(mangle(plaintext)) is None
    # No django_db mark: pytest-django fails any query, so this proves no lookup happens.
    assert api_key_verify(mangle(plaintext)) is None


def test_it_hashes_the_whole_key_with_sha256():
    _, plaintext = generate_key()
    assert hash_key(plaintext) == hashlib.sha256(plaintext.encode()).hexdigest()


@pytest.mark.django_db
def test_it_stores_only_the_prefix_and_the_hash(admin_user):
    issued = api_key_issue(name="app", may_override=True, created_by=admin_user)
    row = ApiKey.objects.get(pk=issued.api_key.pk)
    assert row.prefix == issued.plaintext[:11]
    assert row.key_hash == hashlib.sha256(issued.plaintext.encode()).hexdigest()
    assert row.may_override and row.created_by == admin_user
    stored = [str(v) for v in ApiKey.objects.values().get(pk=row.pk).values()]
    assert not any(issued.plaintext[12:] in value for value in stored)


@pytest.mark.django_db
def test_it_sets_scopes_when_issuing(store):
    issued = api_key_issue(
        name="scoped", personas=[store.smith], tasks=[store.task], rate_limit_rpm=10
    )
    assert list(issued.api_key.personas.all()) == [store.smith]
    assert list(issued.api_key.tasks.all()) == [store.task]
    assert issued.api_key.rate_limit_rpm == 10


@pytest.mark.django_db
def test_it_verifies_a_good_key(django_assert_num_queries):
    issued = api_key_issue(name="app")
    with django_assert_num_queries(1):
        assert api_key_verify(issued.plaintext) == issued.api_key


@pytest.mark.django_db
def test_it_rejects_a_wrong_secret_with_a_valid_prefix_and_checksum():
    issued = api_key_issue(name="app")
    _, other = generate_key()
    forged = issued.api_key.prefix + other[11:]  # real prefix, someone else's secret + its checksum
    forged = forged[:-6] + checksum(forged[:-6])
    assert parse_key(forged) == issued.api_key.prefix
    assert api_key_verify(forged) is None


@pytest.mark.django_db
def test_it_rejects_an_unknown_prefix():
    _, plaintext = generate_key()
    assert api_key_verify(plaintext) is None


@pytest.mark.django_db
def test_it_rejects_a_revoked_key_and_keeps_the_first_revocation_time():
    issued = api_key_issue(name="app")
    api_key_revoke(api_key=issued.api_key)
    first = ApiKey.objects.get(pk=issued.api_key.pk).revoked_at
    assert first is not None
    assert api_key_verify(issued.plaintext) is None
    api_key_revoke(api_key=ApiKey.objects.get(pk=issued.api_key.pk))
    assert ApiKey.objects.get(pk=issued.api_key.pk).revoked_at == first


@pytest.mark.django_db
def test_it_compares_hashes_in_constant_time(monkeypatch):
    issued = api_key_issue(name="app")
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(keys.hmac, "compare_digest", spy)
    assert api_key_verify(issued.plaintext) == issued.api_key
    assert (issued.api_key.key_hash, hash_key(issued.plaintext)) in calls


@pytest.mark.django_db
def test_it_retries_on_a_prefix_collision(monkeypatch):
    taken = api_key_issue(name="first")
    fresh = generate_key()
    pairs = iter([(taken.api_key.prefix, "qf_unused"), fresh])
    monkeypatch.setattr(keys, "generate_key", lambda: next(pairs))
    issued = api_key_issue(name="second")
    assert issued.plaintext == fresh[1]
    assert ApiKey.objects.count() == 2


def test_it_is_masked_by_the_redactor():
    _, plaintext = generate_key()
    assert plaintext not in redact(f"auth failed for {plaintext}")
