"""Checks an admin-set provider base URL against SSRF targets (RELIABILITY.md, API7)."""
from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

METADATA_NAMES = {"metadata", "metadata.google.internal", "metadata.goog", "instance-data"}


class UnsafeURL(ValueError):
    pass


def _is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    # not is_global also covers the shared address space 100.64/10, where one cloud keeps
    # its metadata service (100.100.100.200) and which is_private leaves out.
    return (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_unspecified
        or ip.is_reserved or ip.is_multicast or not ip.is_global
    )


def check_base_url(url: str, *, allow_private_network: bool) -> None:
    """Raise UnsafeURL unless `url` is http(s) and, unless allowed, reaches a public address.

    A name that does not resolve now is accepted: it cannot be connected to either, and the
    check runs again whenever a client for the provider is built.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL("must start with http:// or https://")
    host = parts.hostname
    if not host:
        raise UnsafeURL("has no host")
    if parts.username or parts.password or parts.query or parts.fragment:
        # Keys pasted as ?key=... would be sent and logged with every request.
        raise UnsafeURL("must not carry credentials, a query or a fragment; use the credential field")
    if allow_private_network:
        return
    if host.lower() in METADATA_NAMES or host.lower() == "localhost" or host.endswith(".localhost"):
        raise UnsafeURL(f"points at {host}, a private address (set 'allow private network' to permit)")
    try:
        addresses = {str(ipaddress.ip_address(host))}
    except ValueError:
        addresses = _resolve(host)
    for address in addresses:
        if _is_private(address):
            raise UnsafeURL(
                f"resolves to {address}, a private address (set 'allow private network' to permit)"
            )


def _resolve(host: str) -> set[str]:
    try:
        return {info[4][0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError):
        return set()
