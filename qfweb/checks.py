"""Django's deployment checks, for our middleware.

Django finds its security, clickjacking and CSRF middleware by dotted path, and qfweb
lists its own subclasses of them (qfweb.middleware.InlineHooks, which run their hooks on
the event loop). Its checks would then warn that they are missing (security.W001, W002,
W003, silenced in settings) and pass every check that depends on them without looking.
Here the middleware must be ours, and those checks are run as if it were Django's.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.checks.security import base, csrf
from django.test import override_settings

OURS = {
    "qfweb.middleware.SecurityMiddleware": "django.middleware.security.SecurityMiddleware",
    "qfweb.middleware.XFrameOptionsMiddleware": "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "qfweb.middleware.CsrfViewMiddleware": "django.middleware.csrf.CsrfViewMiddleware",
}
DEPENDENT = (
    base.check_sts, base.check_sts_include_subdomains, base.check_sts_preload,
    base.check_content_type_nosniff, base.check_ssl_redirect, base.check_xframe_deny,
    base.check_referrer_policy, base.check_cross_origin_opener_policy, csrf.check_csrf_cookie_secure,
)


@register(Tags.security, deploy=True)
def check_our_security_middleware(app_configs: Any, **kwargs: Any) -> list:
    errors: list = [
        Error(f"{path} must be in MIDDLEWARE", id="qfweb.E001")
        for path in OURS if path not in settings.MIDDLEWARE
    ]
    with override_settings(MIDDLEWARE=[OURS.get(path, path) for path in settings.MIDDLEWARE]):
        for check in DEPENDENT:
            errors += [e for e in check(app_configs) if e.id not in settings.SILENCED_SYSTEM_CHECKS]
    return errors
