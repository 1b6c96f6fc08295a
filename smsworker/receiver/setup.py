"""Assembling ``smsworker receipts`` from the settings: the web app for the pushes, the puller for
the vendors' pull APIs, the metrics. Secrets are checked here, once, before anything listens."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smsworker.app import build_parser, open_queue, wait_for_redis
from smsworker.config.settings import Settings
from smsworker.errors import ConfigError, StartupError
from smsworker.language import Text
from smsworker.providers.aliyun import AliyunProvider
from smsworker.providers.options import Section
from smsworker.providers.registry import FACTORIES
from smsworker.providers.tencent import TencentProvider
from smsworker.receiver.backlog import Backlog
from smsworker.receiver.held import HeldReports
from smsworker.receiver.pull import DEFAULT_PER_S, Puller
from smsworker.receiver.recorder import Recorder
from smsworker.store.awaiting import AwaitingReceipts
from smsworker.store.held import HeldStore
from smsworker.store.queue import RedisQueue
from smsworker.store.ratelimit import RateLimiter
from smsworker.store.receipts import ReceiptStore

if TYPE_CHECKING:
    from flask import Flask

    from smsworker.receiver.app import Sources
    from smsworker.receiver.metrics import ReceiptMetrics


@dataclass
class Receiver:
    app: Flask | None  # None: nothing is pushed to it, it only pulls
    puller: Puller | None
    metrics: ReceiptMetrics | None
    held: HeldReports | None  # None: reports are not held (receipts_hold 0)
    backlog: Backlog  # what a vendor handed out once, while Redis was away


def build_receiver(settings: Settings, log: Any) -> Receiver:
    """``ConfigError`` when there is no report source, or a secret is weak."""
    sources = push_sources(settings)
    if not sources.names and not settings.receipts_pull:
        raise ConfigError(
            Text(
                "smsworker receipts has no report source: set http_report_secret_file or the credential "
                "http_report_secret (the http provider), receipts_path_token_file or the credential "
                "receipts_path_token (Alibaba, Tencent pushes), twilio.status_callback_url (Twilio) "
                "or receipts_pull (Alibaba, Tencent pull APIs)",
                "smsworker receipts 没有任何回执来源：请设置 http_report_secret_file 或凭据 "
                "http_report_secret（http 服务商），receipts_path_token_file 或凭据 receipts_path_token"
                "（阿里云、腾讯云推送），twilio.status_callback_url（Twilio），或 receipts_pull"
                "（阿里云、腾讯云的拉取接口）",
            )
        )
    metrics = None
    if settings.receipts_metrics_port:
        from smsworker.receiver.metrics import ReceiptMetrics  # prometheus_client only when asked for

        metrics = ReceiptMetrics()
    # Redis away at start: nothing listens until it answers (the vendors push again); away later,
    # the receiver answers 503 until it is back.
    queue = wait_for_redis(lambda: open_queue(settings, log), log, stop=threading.Event())
    if queue is None:  # not reached: nothing sets the event, and no patience was given
        raise StartupError("Redis did not answer")
    recorder = Recorder(_receipt_store(settings, queue), log, metrics)
    backlog = Backlog(recorder, log)
    app = None
    if sources.names:
        from smsworker.receiver.app import make_app  # Flask only here: the workers do not carry it

        app = make_app(recorder, sources, log=log, backlog=backlog)
    puller = _puller(settings, queue, recorder, backlog, log) if settings.receipts_pull else None
    held = None
    if _hold_max(settings):
        held = HeldReports(recorder, HeldStore(queue), log, hold_s=settings.receipts_hold)
    return Receiver(app, puller, metrics, held, backlog)


def _hold_max(settings: Settings) -> int:
    """Reports held at most for their record to appear; 0: none are held."""
    return settings.receipts_hold_max if settings.receipts_hold > 0 else 0


def _receipt_store(settings: Settings, queue: RedisQueue) -> ReceiptStore:
    changes_max = settings.receipts_list_max if settings.receipts_list else 0
    parser = build_parser(settings) if settings.dead_letter_undelivered else None
    return ReceiptStore(
        queue,
        changes_max=changes_max,
        undelivered_parser=parser,
        hold_max=_hold_max(settings),
        receipt_ttl_s=settings.receipt_ttl,
    )


def _puller(settings: Settings, queue: RedisQueue, recorder: Recorder, backlog: Backlog, log: Any) -> Puller:
    vendors = {name: FACTORIES[name](settings, log) for name in settings.receipts_pull}
    limits = {f"{name}.pull": settings.rate_limits.get(f"{name}.pull", DEFAULT_PER_S) for name in vendors}
    tencent, aliyun = vendors.get("tencent"), vendors.get("aliyun")
    return Puller(
        recorder,
        AwaitingReceipts(queue),
        RateLimiter(queue, limits, log),
        log,
        tencent=tencent if isinstance(tencent, TencentProvider) else None,
        aliyun=aliyun if isinstance(aliyun, AliyunProvider) else None,
        backlog=backlog,
        after_s=settings.receipts_pull_after,
    )


def push_sources(settings: Settings) -> Sources:
    from smsworker.receiver.app import Sources

    twilio = Section("twilio", settings.provider_options.get("twilio", {}))
    twilio_url = twilio.url("status_callback_url")
    return Sources(
        http_secret=_strong(settings.http_report_secret, "http_report_secret_file"),
        path_token=_path_token(settings.receipts_path_token),
        allow=settings.receipts_allow,
        twilio_auth_token=twilio.secret("auth_token") if twilio_url else None,
        twilio_url=twilio_url or None,
    )


def serve_metrics(metrics: ReceiptMetrics, settings: Settings) -> None:
    try:
        metrics.serve(settings.receipts_metrics_port or 0, settings.metrics_address)
    except OSError as exc:
        raise StartupError.cannot_listen(
            "serve metrics",
            settings.metrics_address,
            settings.receipts_metrics_port or 0,
            exc,
            "receipts-metrics",
            "metrics",
        ) from None


def _strong(secret: str | None, setting: str) -> bytes | None:
    """A secret read with the settings (None: not configured), refused when guessable."""
    if secret is None:
        return None
    if len(secret) < 16:
        raise ConfigError(
            Text(
                f"invalid {setting}: the secret must be at least 16 characters (e.g. `openssl rand -hex 32`)",
                f"{setting} 无效：密钥至少要 16 个字符（可以用 `openssl rand -hex 32` 生成）",
            )
        )
    return secret.encode()


def _path_token(token: str | None) -> str | None:
    if _strong(token, "receipts_path_token_file") is None:
        return None
    if not re.fullmatch(r"[A-Za-z0-9_-]+", token or ""):
        raise ConfigError(
            Text(
                "invalid receipts_path_token_file: the token goes in a URL path, so only A-Z a-z 0-9 - _",
                "receipts_path_token_file 无效：令牌要放进 URL 路径，只能用 A-Z a-z 0-9 - _",
            )
        )
    return token
