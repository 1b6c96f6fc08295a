"""Provider names -> factories. A new provider is one module and one line here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smsworker.config import Settings
from smsworker.errors import ConfigError
from smsworker.providers.base import Provider
from smsworker.providers.http import HttpProvider
from smsworker.providers.log import LogProvider


def _build_log(settings: Settings, logger: Any) -> Provider:
    return LogProvider(logger)


def _build_http(settings: Settings, logger: Any) -> Provider:
    if not settings.http_url:
        raise ConfigError("provider 'http' needs http_url: pass --http-url or set SMSWORKER_HTTP_URL")
    return HttpProvider(
        settings.http_url,
        headers=settings.http_header_pairs(),
        timeout_s=settings.http_timeout,
        batch_size=settings.http_batch_size,
        pool_size=settings.concurrency,
    )


FACTORIES: dict[str, Callable[[Settings, Any], Provider]] = {
    "log": _build_log,
    "http": _build_http,
}


def build_provider(settings: Settings, logger: Any) -> Provider:
    """The configured provider; ``ConfigError`` for an unknown name or a missing setting."""
    try:
        factory = FACTORIES[settings.provider]
    except KeyError:
        raise ConfigError(
            f"invalid provider {settings.provider!r}: choose one of {', '.join(sorted(FACTORIES))}"
        ) from None
    return factory(settings, logger)
