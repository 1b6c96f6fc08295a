"""Provider names -> factories. A new provider is one module and one line here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smsworker.config.settings import Settings
from smsworker.errors import ConfigError
from smsworker.providers.aliyun import AliyunProvider
from smsworker.providers.base import Provider
from smsworker.providers.http import HttpProvider
from smsworker.providers.log import LogProvider
from smsworker.providers.options import Section
from smsworker.providers.tencent import TencentProvider
from smsworker.providers.twilio import TwilioProvider


def _build_log(settings: Settings, logger: Any) -> Provider:
    return LogProvider(logger)


def _build_http(settings: Settings, logger: Any) -> Provider:
    if not settings.http_url:
        raise ConfigError("provider 'http' needs http_url: pass --http-url or set SMSWORKER_HTTP_URL")
    return HttpProvider(
        settings.http_url,
        headers=settings.http_headers,
        timeout_s=settings.http_timeout,
        batch_size=settings.http_batch_size,
        pool_size=settings.concurrency,
    )


def _section(settings: Settings, name: str) -> Section:
    return Section(name, settings.provider_options.get(name, {}))


def _build_aliyun(settings: Settings, logger: Any) -> Provider:
    section = _section(settings, "aliyun")
    return AliyunProvider(
        access_key_id=section.text("access_key_id"),
        access_key_secret=section.secret("access_key_secret"),
        sign_name=section.text("sign_name"),
        templates=section.templates(),
        base_url=section.text("base_url", "https://dysmsapi.aliyuncs.com"),
        timeout_s=section.seconds("timeout", 10.0),
        content_param=section.text("content_param", "content"),
        signature=section.text("signature", "v3"),
        pool_size=settings.concurrency,
        log=logger,
    )


def _build_tencent(settings: Settings, logger: Any) -> Provider:
    section = _section(settings, "tencent")
    return TencentProvider(
        secret_id=section.text("secret_id"),
        secret_key=section.secret("secret_key"),
        sdk_app_id=section.text("sdk_app_id"),
        sign_name=section.text("sign_name"),
        templates=section.templates(),
        region=section.text("region", "ap-guangzhou"),
        base_url=section.text("base_url", "https://sms.tencentcloudapi.com"),
        timeout_s=section.seconds("timeout", 10.0),
        pool_size=settings.concurrency,
    )


def _build_twilio(settings: Settings, logger: Any) -> Provider:
    section = _section(settings, "twilio")
    service = str(section.get("messaging_service_sid") or "")
    return TwilioProvider(
        account_sid=section.text("account_sid"),
        auth_token=section.secret("auth_token"),
        from_number="" if service else section.text("from"),
        messaging_service_sid=service,
        status_callback_url=section.url("status_callback_url"),
        base_url=section.text("base_url", "https://api.twilio.com"),
        timeout_s=section.seconds("timeout", 10.0),
        pool_size=settings.concurrency,
    )


FACTORIES: dict[str, Callable[[Settings, Any], Provider]] = {
    "log": _build_log,
    "http": _build_http,
    "aliyun": _build_aliyun,
    "tencent": _build_tencent,
    "twilio": _build_twilio,
}


def build_providers(settings: Settings, logger: Any) -> list[Provider]:
    """The configured provider, or failover chain ("aliyun,tencent"); ``ConfigError`` for an unknown
    name or a missing setting."""
    names = [name.strip() for name in settings.provider.split(",") if name.strip()]
    unknown = [name for name in names if name not in FACTORIES]
    if unknown or not names:
        raise ConfigError(
            f"invalid provider {settings.provider!r}: choose one of {', '.join(sorted(FACTORIES))}, "
            "or several separated by commas for a failover chain"
        )
    return [FACTORIES[name](settings, logger) for name in names]
