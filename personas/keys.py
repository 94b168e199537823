"""Client API keys: format, hashing, issue, revoke, verify (RELIABILITY.md, client API keys).

A key reads `qf_<id>_<secret><crc>`: an 8-character public id, a 32-character secret and a
6-character CRC32 of everything before it, all base62 (the GitHub token format). Only the
prefix `qf_<id>` and the SHA-256 of the whole key are stored; the plaintext is returned once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from personas.models import ApiKey
from routing.access import Caller
from routing.cacheguard import fail_open
from routing.offloop import run_sync
from routing.snapshot import aread_version, bump_config_version, config_version

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

    from personas.models import Persona
    from routing.models import Task

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
KEY_TYPE = "qf_"
ID_LENGTH = 8
SECRET_LENGTH = 32  # 32 x log2(62) ~ 190 bits
CHECKSUM_LENGTH = 6  # 62**6 > 2**32, so any CRC32 fits
KEY_RE = re.compile(
    rf"^(?P<prefix>{KEY_TYPE}[0-9A-Za-z]{{{ID_LENGTH}}})_"
    rf"[0-9A-Za-z]{{{SECRET_LENGTH}}}(?P<checksum>[0-9A-Za-z]{{{CHECKSUM_LENGTH}}})$"
)
KEY_LENGTH = len(KEY_TYPE) + ID_LENGTH + 1 + SECRET_LENGTH + CHECKSUM_LENGTH
# A verified key's scopes are held this long. Any change to keys, personas or tasks moves the
# configuration version, which is part of the cache key, so revocation is seen at once.
CALLER_TTL_S = 60
LAST_USED_EVERY_S = 60  # last_used_at is written at most once a minute per key


@dataclass(frozen=True)
class IssuedKey:
    """The stored row and the plaintext, which exists only here and is shown once."""

    api_key: ApiKey
    plaintext: str


def _random_base62(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, digit = divmod(number, 62)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits)).rjust(width, ALPHABET[0])


def checksum(body: str) -> str:
    """CRC32 of `qf_<id>_<secret>`, so scanners and we can reject a mistyped or made-up
    key offline, without a database query."""
    return _base62(zlib.crc32(body.encode("ascii")), CHECKSUM_LENGTH)


def generate_key() -> tuple[str, str]:
    """A new (prefix, plaintext) pair."""
    prefix = KEY_TYPE + _random_base62(ID_LENGTH)
    body = f"{prefix}_{_random_base62(SECRET_LENGTH)}"
    return prefix, body + checksum(body)


def parse_key(plaintext: str) -> str | None:
    """The key's prefix if it is well formed and its checksum matches, else None."""
    if not isinstance(plaintext, str) or len(plaintext) != KEY_LENGTH:
        return None
    match = KEY_RE.match(plaintext)
    if match is None:
        return None
    body = plaintext[:-CHECKSUM_LENGTH]
    if not hmac.compare_digest(checksum(body), match.group("checksum")):
        return None
    return match.group("prefix")


def hash_key(plaintext: str) -> str:
    # A fast hash is right here: the key carries ~190 random bits, so a leaked hash cannot
    # be brute-forced, and a slow password hasher would cost every API request tens of ms
    # (djangorestframework-api-key moved to SHA-512 for this reason).
    return hashlib.sha256(plaintext.encode("ascii")).hexdigest()


def api_key_issue(
    *,
    name: str,
    personas: Iterable[Persona] = (),
    tasks: Iterable[Task] = (),
    all_personas: bool = False,
    all_tasks: bool = False,
    may_override: bool = False,
    may_write: bool = False,
    rate_limit_rpm: int | None = None,
    monthly_budget: Decimal | None = None,
    created_by: AbstractBaseUser | None = None,
) -> IssuedKey:
    """Create a key with its scopes. The returned plaintext is not stored anywhere."""
    for _ in range(3):
        prefix, plaintext = generate_key()
        try:
            # The savepoint lets a (62**8-unlikely) prefix collision retry inside an
            # outer transaction, such as the admin's.
            with transaction.atomic():
                api_key = ApiKey.objects.create(
                    name=name,
                    prefix=prefix,
                    key_hash=hash_key(plaintext),
                    all_personas=all_personas,
                    all_tasks=all_tasks,
                    may_override=may_override,
                    may_write=may_write,
                    rate_limit_rpm=rate_limit_rpm,
                    monthly_budget=monthly_budget,
                    created_by=created_by,
                )
                api_key.personas.set(personas)
                api_key.tasks.set(tasks)
        except IntegrityError:
            if ApiKey.objects.filter(prefix=prefix).exists():
                continue
            raise
        return IssuedKey(api_key=api_key, plaintext=plaintext)
    raise RuntimeError("could not find a free API key prefix")


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Mark the key revoked; revoking twice keeps the first time."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
            revoked_at=api_key.revoked_at
        )
        # update() sends no signal: drop every cached Caller now, not after CALLER_TTL_S.
        transaction.on_commit(bump_config_version)
    return api_key


def api_key_verify(plaintext: str) -> ApiKey | None:
    """The active key `plaintext` names, or None.

    Malformed keys and bad checksums are rejected before any query. The lookup is by the
    public prefix only and the hashes are compared in constant time, so response timing
    does not reveal how much of a guessed secret was right.
    """
    prefix = parse_key(plaintext)
    if prefix is None:
        return None
    api_key = ApiKey.objects.filter(prefix=prefix).first()
    if api_key is None:
        return None
    if not hmac.compare_digest(api_key.key_hash, hash_key(plaintext)):
        return None
    if api_key.revoked_at is not None:
        return None
    return api_key


def caller_for_key(plaintext: str) -> Caller | None:
    """The Caller an API key stands for, or None. Warm, this reads memory and the request's
    configuration version, and no query; the secret is still checked against the stored
    hash on every request."""
    prefix = parse_key(plaintext)
    if prefix is None:
        return None
    caller = _checked(_held(prefix) or _load(prefix), plaintext)
    if caller is not None and _first_use_this_minute(prefix, caller.key_id):
        _mark_used(caller.key_id)
    return caller


async def acaller_for_key(plaintext: str) -> Caller | None:
    """caller_for_key for async views: the database is reached only on a cache miss."""
    prefix = parse_key(plaintext)
    if prefix is None:
        return None
    await aread_version()
    caller = _checked(_held(prefix) or await run_sync(_load, prefix), plaintext)
    if caller is not None and _first_use_this_minute(prefix, caller.key_id):
        await run_sync(_mark_used, caller.key_id)
    return caller


def caller_of(api_key: ApiKey) -> Caller:
    return Caller(
        key_id=api_key.pk,
        name=api_key.name,
        personas=None if api_key.all_personas else frozenset(p.slug for p in api_key.personas.all()),
        tasks=None if api_key.all_tasks else frozenset(t.name for t in api_key.tasks.all()),
        may_override=api_key.may_override,
        may_write=api_key.may_write,
        rate_limit_rpm=api_key.rate_limit_rpm,
        monthly_budget=api_key.monthly_budget,
    )


Held = tuple[str, Caller | None]  # (key hash, scopes); ("", None) remembers an unknown prefix


def _cache_key(prefix: str) -> str:
    return f"apikey:{prefix}:{config_version()}"


# This process's copy of what the shared cache holds, so that a warm request does not ask
# Redis for its key's scopes every time (issue 8). The version in the cache key makes a
# revocation anywhere visible at once here too.
_local: dict[str, tuple[float, Held]] = {}
LOCAL_MAX = 10_000  # unknown prefixes are held too: a flood of made-up ones must not grow it


def _held(prefix: str) -> Held | None:
    cache_key = _cache_key(prefix)
    local = _local.get(cache_key)
    if local is not None and local[0] > time.time():
        return local[1]
    held = _shared_held(cache_key)
    if held is not None:
        _keep(cache_key, held)
    return held


@fail_open(lambda *_: None)
def _shared_held(cache_key: str) -> Held | None:
    return cache.get(cache_key)


def _keep(cache_key: str, held: Held) -> None:
    if len(_local) >= LOCAL_MAX:
        _local.clear()
    _local[cache_key] = (time.time() + CALLER_TTL_S, held)


def _load(prefix: str) -> Held:
    # The version before the rows: a revocation committed in between moves the version, so
    # what is read here is stored under a key nobody will ask for again.
    cache_key = _cache_key(prefix)
    api_key = (
        ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True)
        .prefetch_related("personas", "tasks")
        .first()
    )
    held = (api_key.key_hash, caller_of(api_key)) if api_key else ("", None)
    _remember(cache_key, held)
    _keep(cache_key, held)
    return held


@fail_open(lambda *_: None)
def _remember(cache_key: str, held: Held) -> None:
    cache.set(cache_key, held, timeout=CALLER_TTL_S)


def _checked(held: Held, plaintext: str) -> Caller | None:
    key_hash, caller = held
    if caller is None or not hmac.compare_digest(key_hash, hash_key(plaintext)):
        return None
    return caller


_asked: dict[str, float] = {}  # key prefix -> when this process last claimed a minute


def _first_use_this_minute(prefix: str, key_id: int | None) -> bool:
    # This process asks the shared cache at most once a minute per key, not per request.
    now = time.time()
    if abs(now - _asked.get(prefix, 0.0)) < LAST_USED_EVERY_S:
        return False
    _asked[prefix] = now
    return _claim_minute(key_id)


@fail_open(lambda *_: False)
def _claim_minute(key_id: int | None) -> bool:
    return bool(cache.add(f"apikey:used:{key_id}", 1, timeout=LAST_USED_EVERY_S))


def _mark_used(key_id: int | None) -> None:
    ApiKey.objects.filter(pk=key_id).update(last_used_at=timezone.now())
