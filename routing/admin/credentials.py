"""The provider form's write-only secret (RELIABILITY.md, provider credentials).

The secret is encrypted with qfweb.crypto and never rendered back: the page shows only
whether one is set and since when. Changing the base URL clears a stored secret unless a
new one comes with the same save, so a key is never sent to a host it was not entered for.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from qfweb.crypto import encrypt
from routing.admin.common import QfModelForm
from routing.models import Provider
from routing.selectors import provider_names_taken
from routing.urlsafety import UnsafeURL, check_base_url


class ProviderForm(QfModelForm):
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted and never shown again. Leave blank to keep the current one; "
        "tick 'clear' to remove it.",
    )
    clear_secret = forms.BooleanField(required=False, label="Clear the stored secret")
    # Set per request by the admin: only superusers may aim a provider at a private address.
    may_allow_private_network = False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self._check_private_network(cleaned.get("base_url"))
        self._check_aliases(cleaned.get("name"), cleaned.get("aliases"))
        secret = cleaned.get("secret")
        self.secret_token = ""
        if secret and cleaned.get("clear_secret"):
            self.add_error("clear_secret", "Enter a new secret or clear the stored one, not both.")
        elif secret:
            try:
                self.secret_token = encrypt(secret)
            except ImproperlyConfigured as exc:
                self.add_error(
                    "secret", f"{exc}. Or use a ${{ENV_VAR}} credential reference instead."
                )
        return cleaned

    def _check_aliases(self, name: str | None, aliases: Any) -> None:
        # Handles name a provider by name or alias, so each must point at one provider only.
        if not isinstance(aliases, list):
            return  # Provider.clean() names the problem
        taken = provider_names_taken(exclude_pk=self.instance.pk)
        for alias in [name, *aliases]:
            if alias in taken:
                field = "name" if alias == name else "aliases"
                self.add_error(
                    field, f"{alias!r} is already the name or an alias of {taken[alias]}"
                )

    def _check_private_network(self, base_url: str | None) -> None:
        # The flag a superuser set for one local server must not let other staff move the
        # provider to any other internal host (say 169.254.169.254) later.
        if self.may_allow_private_network or not base_url or "base_url" not in self.changed_data:
            return
        try:
            check_base_url(base_url, allow_private_network=False)
        except UnsafeURL as exc:
            self.add_error(
                "base_url", f"{base_url} {exc}; only a superuser may set a private address."
            )


def apply_secret(provider: Provider, form: ProviderForm, *, change: bool) -> list[tuple[int, str]]:
    """Set, clear or keep the provider's stored secret from a valid form; the messages to
    show the operator. Nothing is saved here."""
    notes: list[tuple[int, str]] = []
    base_url_changed = change and "base_url" in form.changed_data
    if form.secret_token:
        provider.credential_encrypted = form.secret_token
        provider.credential_set_at = timezone.now()
        notes.append((messages.SUCCESS, "The secret was stored encrypted."))
    elif form.cleaned_data.get("clear_secret") and provider.credential_encrypted:
        provider.credential_encrypted, provider.credential_set_at = "", None
        notes.append((messages.SUCCESS, "The stored secret was removed."))
    elif base_url_changed and provider.credential_encrypted:
        # Provider.save() drops the secret; say so before it happens.
        notes.append(
            (
                messages.WARNING,
                "The base URL changed, so the stored secret was cleared: it was entered for the "
                f"old host. Enter it again if {provider.base_url} should receive it.",
            )
        )
    if base_url_changed and provider.credential_ref:
        notes.append(
            (
                messages.WARNING,
                f"The key in {provider.credential_ref} will now be sent to {provider.base_url}.",
            )
        )
    return notes
