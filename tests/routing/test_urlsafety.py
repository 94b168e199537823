from __future__ import annotations

import socket

import pytest

from routing.urlsafety import UnsafeURL, check_base_url


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:6379",
        "http://[::1]:8080",
        "http://10.1.2.3/v1",
        "http://0.0.0.0",
        "http://localhost:11434",
        "http://metadata.google.internal/computeMetadata",
        "http://100.100.100.200/latest/meta-data",  # shared address space: not is_private
    ],
)
def test_it_refuses_private_and_metadata_addresses(url):
    with pytest.raises(UnsafeURL, match="private"):
        check_base_url(url, allow_private_network=False)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com", "gopher://x"])
def test_it_refuses_other_schemes_even_when_private_is_allowed(url):
    with pytest.raises(UnsafeURL, match="http"):
        check_base_url(url, allow_private_network=True)


@pytest.mark.parametrize(
    "url", ["https://user:sk-secret@example.com", "https://example.com/v1?key=AIza123", "https://example.com/v1#k"]
)
def test_it_refuses_credentials_queries_and_fragments_in_the_url(url):
    with pytest.raises(UnsafeURL, match="credentials, a query or a fragment"):
        check_base_url(url, allow_private_network=True)


def test_it_allows_private_addresses_when_the_provider_permits():
    check_base_url("http://localhost:11434", allow_private_network=True)


def test_it_refuses_a_public_looking_name_that_resolves_to_a_private_address(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port: [(0, 0, 0, "", ("10.0.0.5", 0))])
    with pytest.raises(UnsafeURL, match="resolves to 10.0.0.5"):
        check_base_url("https://internal.example.com", allow_private_network=False)


def test_it_accepts_a_public_address():
    check_base_url("https://93.184.215.14/v1", allow_private_network=False)
