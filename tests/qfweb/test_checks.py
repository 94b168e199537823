"""qfweb.checks: Django's deployment checks that depend on its security middleware run
for ours, which Django does not recognise by path (issue 8)."""

from __future__ import annotations

from qfweb.checks import check_our_security_middleware


def ids(settings) -> set[str]:
    return {e.id for e in check_our_security_middleware(None)}


def test_the_checks_that_depend_on_the_security_middleware_still_run(settings):
    settings.SECURE_HSTS_SECONDS = 0
    settings.SECURE_SSL_REDIRECT = False
    assert {"security.W004", "security.W008"} <= ids(settings)


def test_a_secure_setup_passes(settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_SSL_REDIRECT = True
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SILENCED_SYSTEM_CHECKS = ["security.W021"]
    assert ids(settings) == set()


def test_our_middleware_missing_is_an_error(settings):
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "qfweb.middleware.SecurityMiddleware"]
    assert "qfweb.E001" in ids(settings)
