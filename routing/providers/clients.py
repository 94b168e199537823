"""One adapter, with one pooled httpx client, per provider per process (source document
000's provider instance cache; STYLE B-4), and the credential each call carries.

Clients belong to the event loop that made them (their connections do), so the pool is
kept per loop: under uvicorn that is one per worker process; a command-line run gets its
own and closes it. A provider whose address or settings changed gets a new client, and
its base URL is checked against SSRF targets again whenever one is built (RELIABILITY.md,
SSRF control 2): a name that resolved to a public address on save may not any more.
"""

from __future__ import annotations

import asyncio
import os
import re
import weakref

import httpx
from django.conf import settings

from qfweb.crypto import SecretUnavailable, decrypt
from routing.config import ModelInfo, ProviderInfo
from routing.handles import env_var_name
from routing.providers import KINDS, adapter_class
from routing.providers.adapter import Adapter
from routing.providers.base import Category, ProviderError
from routing.providers.transport import UpstreamTransport
from routing.urlsafety import UnsafeURL, check_base_url

POOL_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=30)

_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, tuple[tuple, Adapter]]] = (
    weakref.WeakKeyDictionary()
)
PROTECTED_ENV = re.compile(r"^(QF_|DJANGO_|SECRET_KEY|DATABASE_URL|REDIS_URL|CELERY_)")
_decrypted: dict[str, str] = {}  # ciphertext -> secret, so a call does not pay for Fernet
_closing: set[asyncio.Task] = set()  # held so the loop does not drop a closing task


def adapter_for(provider: ProviderInfo) -> Adapter:
    """The cached adapter of `provider` on the running loop; raises ProviderError(refused)
    when its base URL is not allowed."""
    pool = _pools.setdefault(asyncio.get_running_loop(), {})
    identity = (provider.kind, provider.base_url, provider.allow_private_network)
    held = pool.get(provider.name)
    if held is not None and held[0] == identity:
        return held[1]
    if held is not None:  # the provider moved: finish with the old client in the background
        _close_soon(held[1])
    if provider.base_url:
        try:
            check_base_url(provider.base_url, allow_private_network=provider.allow_private_network)
        except UnsafeURL as exc:
            raise ProviderError(Category.REFUSED, f"base URL {exc}", connect=True) from None
    client = None
    if provider.base_url:
        client = httpx.AsyncClient(
            transport=UpstreamTransport(limits=POOL_LIMITS, trust_env=settings.QF_UPSTREAM_TRUST_ENV),
            follow_redirects=False,  # a 30x to a metadata address is never followed
            trust_env=settings.QF_UPSTREAM_TRUST_ENV,
        )
    adapter = adapter_class(provider.kind)(client, provider.base_url)
    pool[provider.name] = (identity, adapter)
    return adapter


async def aclose_all() -> None:
    """Close every client of the running loop (ASGI shutdown, end of a command)."""
    pool = _pools.pop(asyncio.get_running_loop(), {})
    for _, adapter in pool.values():
        if adapter.client is not None:
            await adapter.client.aclose()


def _close_soon(adapter: Adapter) -> None:
    """Close a replaced client once the requests still using it are over (the deadline)."""
    if adapter.client is None:
        return
    loop = asyncio.get_running_loop()

    def close() -> None:
        task = loop.create_task(adapter.client.aclose())
        _closing.add(task)
        task.add_done_callback(_closing.discard)

    loop.call_later(settings.QF_REQUEST_DEADLINE_S + 1, close)


def secret_for(provider: ProviderInfo, model: ModelInfo) -> str:
    """The credential for a call: the model's environment reference, else the provider's,
    else its stored secret. Raises ProviderError(auth) when a kind that needs one has none,
    so no call goes out that can only fail."""
    reference = model.credential_ref or provider.credential_ref
    if reference:
        name = env_var_name(reference)
        if PROTECTED_ENV.match(name):
            # An operator must not be able to send the server's own secrets to a host.
            raise ProviderError(Category.AUTH, f"credential {reference} names a variable of qfweb's own")
        secret = os.environ.get(name, "")
        if not secret and KINDS[provider.kind].needs_credential:
            raise ProviderError(Category.AUTH, f"credential {reference} is not set in the environment")
        return secret
    if provider.credential_encrypted:
        secret = _decrypted.get(provider.credential_encrypted)
        if secret is None:
            try:
                secret = decrypt(provider.credential_encrypted)
            except SecretUnavailable as exc:
                raise ProviderError(Category.AUTH, str(exc)) from None
            _decrypted[provider.credential_encrypted] = secret
        return secret
    if KINDS[provider.kind].needs_credential:
        raise ProviderError(Category.AUTH, f"provider {provider.name} has no credential")
    return ""
