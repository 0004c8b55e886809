"""The mail providers, one line each: MAIL_BACKEND and `/webhooks/{provider}` are looked up
here, and nowhere else names a provider.

A line maps the name to the module that declares the provider as `PROVIDER`
(`emails.providers.base.Provider`). Modules are imported on first use, so the web process
never loads a provider's SDK before it receives that provider's events.
"""

from __future__ import annotations

from importlib import import_module

from config import ConfigError, Settings
from emails.providers.base import Backend, Provider

PROVIDERS: dict[str, str] = {
    "outbox": "emails.providers.outbox",
    "sendgrid": "emails.providers.sendgrid",
    "smtp": "emails.providers.smtp",
}


def provider(name: str) -> Provider:
    """The provider registered as `name`; LookupError, naming the known ones, if none is."""
    if name not in PROVIDERS:
        raise LookupError(f"no mail provider {name!r}; known: {', '.join(sorted(PROVIDERS))}")
    return import_module(PROVIDERS[name]).PROVIDER


def check(settings: Settings) -> None:
    """Refuse an unknown MAIL_BACKEND when a process starts, not at its first send; imports
    nothing (the web process loads a provider only when its events arrive)."""
    if settings.mail_backend not in PROVIDERS:
        known = ", ".join(sorted(PROVIDERS))
        raise ConfigError(
            f"MAIL_BACKEND: no mail provider {settings.mail_backend!r}; known: {known}"
        )


def configured(settings: Settings) -> Provider:
    """The provider MAIL_BACKEND names; a ConfigError if it names none."""
    check(settings)
    return provider(settings.mail_backend)


def get_backend(settings: Settings) -> Backend:
    return configured(settings).backend(settings)


def credential_hint(settings: Settings) -> str:
    """What to check when the configured provider refuses our credentials."""
    return configured(settings).credential_hint
