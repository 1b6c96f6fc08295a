"""Provider names -> factories. A new provider is one module, one line here, and its table's keys
in ``config/vendors.py`` (which also lists the names ``--provider`` takes)."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smsworker.config.messages import reason
from smsworker.config.settings import Settings
from smsworker.config.vendors import provider_chain
from smsworker.errors import ConfigError
from smsworker.language import Text
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
        raise ConfigError(
            Text(
                "provider 'http' needs http_url: pass --http-url or set SMSWORKER_HTTP_URL",
                "服务商 'http' 缺少 http_url：请加参数 --http-url，或设置环境变量 SMSWORKER_HTTP_URL",
            )
        )
    return HttpProvider(
        settings.http_url,
        headers=settings.http_headers,
        timeout_s=settings.http_timeout,
        batch_size=settings.http_batch_size,
        pool_size=settings.concurrency,
    )


def _section(settings: Settings, name: str) -> Section:
    """The vendor's table, every required key in it (``ConfigError`` naming all that are not)."""
    section = Section(name, settings.provider_options.get(name, {}))
    section.require()
    return section


def _build_aliyun(settings: Settings, logger: Any) -> Provider:
    section = _section(settings, "aliyun")
    return AliyunProvider(
        access_key_id=section.text("access_key_id"),
        access_key_secret=section.secret("access_key_secret"),
        sign_name=section.text("sign_name"),
        templates=section.templates(),
        base_url=section.text("base_url"),
        timeout_s=section.seconds("timeout"),
        content_param=section.text("content_param"),
        signature=section.text("signature"),
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
        region=section.text("region"),
        base_url=section.text("base_url"),
        timeout_s=section.seconds("timeout"),
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
        base_url=section.text("base_url"),
        timeout_s=section.seconds("timeout"),
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
    try:
        chain = provider_chain(settings.provider)
    except ValueError as exc:
        frame = Text(f"invalid provider {settings.provider!r}: ", f"provider {settings.provider!r} 无效：")
        raise ConfigError(frame + reason(exc)) from None
    names = [name.strip() for name in chain.split(",") if name.strip()]
    return [FACTORIES[name](settings, logger) for name in names]
