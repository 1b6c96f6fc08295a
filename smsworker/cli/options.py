"""Options shared by the commands, and turning them into ``Settings`` (or a one-line error)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
import redis

from smsworker.config.settings import LOG_FORMATS, LOG_LEVELS, Settings, load_settings
from smsworker.errors import ConfigError, StartupError
from smsworker.providers.registry import FACTORIES
from smsworker.redact import redact_url

F = Callable[..., Any]

_COMMON = [
    ("--redis-url", "Redis to use: redis://host:6379/0, rediss:// for TLS.", "redis://127.0.0.1:6379/0"),
    ("--redis-username", "ACL user name.", None),
    ("--redis-password-file", "File holding the Redis password (or the credential redis_password).", None),
    ("--redis-tls-ca-file", "CA certificate to trust for rediss://.", None),
    ("--redis-tls-cert-file", "Client certificate for rediss://, if the server asks for one.", None),
    ("--redis-tls-key-file", "Key of that client certificate.", None),
    ("--sentinel-master", "Name of the primary the sentinels watch.", "mymaster"),
    ("--queue", "List the producers LPUSH tasks to.", "sms_queue"),
    ("--dead-letter-queue", "List for tasks that could not be sent.", "{<queue>}:dead"),
    ("--log-format", f"One of {', '.join(LOG_FORMATS)}: JSON off a terminal, console on one.", "auto"),
    ("--log-level", f"One of {', '.join(LOG_LEVELS)}.", "info"),
]
_WORKER = [
    ("--provider", f"SMS provider: {', '.join(sorted(FACTORIES))} (log is a dry run).", "log"),
    ("--http-url", "Webhook the http provider POSTs each message to.", None),
    ("--http-timeout", "Seconds before an http request counts as failed (transient).", "10"),
    ("--http-batch-size", 'Numbers per http request; above 1 they go as "mobiles": [...].', "1"),
    ("--concurrency", "Provider requests sent in parallel (per process).", "8"),
    ("--processes", "Worker processes, to use more than one core; auto: one per core.", "1"),
    ("--max-attempts", "Attempts per message in all, retries included.", "5"),
    ("--backoff-base", "Seconds of the first retry backoff; doubles each time, full jitter.", "1"),
    ("--backoff-max", "Longest wait between attempts, Retry-After included.", "60"),
    ("--heartbeat-ttl", "Seconds without a heartbeat before a worker counts as dead.", "30"),
    ("--shutdown-timeout", "Seconds to finish in-flight sends after SIGTERM.", "30"),
    ("--default-region", "Region for numbers written without +country code.", "CN"),
    ("--max-payload-bytes", "Larger tasks are dead-lettered as too_large.", "1048576"),
    ("--max-recipients", "Tasks with more recipients are dead-lettered as too_large.", "10000"),
    (
        "--poison-after",
        "Workers that may die (killed, out of memory) holding one task before it is dead-lettered "
        "unread as poison, so it cannot take down the next one.",
        "3",
    ),
    (
        "--receipt-ttl",
        "Seconds to keep each recipient's status (tasks with an id) and the vendor ids that delivery "
        "reports will name.",
        "259200",
    ),
    (
        "--metrics-port",
        "Serve Prometheus metrics on this port; 0 is off. With --processes, the parent "
        "serves every process's on it.",
        "0",
    ),
    ("--metrics-address", "Address the metrics endpoint listens on.", "127.0.0.1"),
]


_RECEIPTS = [
    ("--receipts-address", "Address the receiver listens on (put a TLS proxy in front of it).", "127.0.0.1"),
    ("--receipts-port", "Port the receiver listens on.", "8090"),
    (
        "--http-report-secret-file",
        "File holding the secret the http provider's delivery reports are signed with (HMAC-SHA256).",
        None,
    ),
    (
        "--receipts-path-token-file",
        "File holding the secret token in the URL path Alibaba and Tencent push reports to "
        "(/aliyun/<token>, /tencent/<token>): they sign nothing. 16+ characters of A-Z a-z 0-9 - _.",
        None,
    ),
    (
        "--receipts-allow",
        "Networks Alibaba's and Tencent's pushes may come from, comma-separated (e.g. the vendor's "
        "published ranges); others get 403.",
        None,
    ),
    (
        "--receipts-pull",
        "Also pull reports from these vendors' APIs, comma-separated: aliyun (QuerySendDetails, per "
        "receipt awaiting a report), tencent (PullSmsSendStatus). For when the vendor cannot reach "
        "you; paced by --rate-limit aliyun.pull=10/s (the default).",
        None,
    ),
    (
        "--receipts-pull-after",
        "Seconds a receipt waits for its report before Alibaba is asked about it.",
        "60",
    ),
    ("--receipts-pull-every", "Seconds between two pull rounds.", "30"),
    (
        "--receipts-hold",
        "Seconds a report that came before its task settled waits for the task's receipt record "
        "(then it is applied); past them it counts as unmatched. 0: unmatched at once.",
        "21600",
    ),
    ("--receipts-hold-max", "Reports held at most at once; more count as unmatched at once.", "100000"),
    (
        "--receipts-metrics-port",
        "Serve the receiver's Prometheus metrics on this port (at --metrics-address), apart from "
        "the report port.",
        None,
    ),
]


def _option(flag: str, help_text: str, default: str | None) -> F:
    env = "SMSWORKER_" + flag[2:].replace("-", "_").upper()
    shown = f" [default: {default}]" if default else ""
    return click.option(flag, default=None, help=f"{help_text}{shown} [env: {env}]")


def common_options(func: F) -> F:
    for flag, help_text, default in reversed(_COMMON):
        func = _option(flag, help_text, default)(func)
    func = click.option(
        "--sentinel",
        "sentinels",
        multiple=True,
        help="A Redis Sentinel as host:port; repeatable. The primary is then found through them. "
        "[env: SMSWORKER_SENTINELS, comma-separated]",
    )(func)
    func = click.option(
        "--redis-cluster",
        "redis_cluster",
        multiple=True,
        help="A seed node of a Redis Cluster as host:port; repeatable. Scheme, user and password come "
        "from --redis-url. Not needed to point at one node: a cluster is detected. "
        "[env: SMSWORKER_REDIS_CLUSTER, comma-separated]",
    )(func)
    return click.option(
        "--config", type=click.Path(dir_okay=False), help="TOML file of settings. [env: SMSWORKER_CONFIG]"
    )(func)


def receipts_options(func: F) -> F:
    for flag, help_text, default in reversed(_RECEIPTS):
        func = _option(flag, help_text, default)(func)
    return _changes_list_options(func)


def _changes_list_options(func: F) -> F:
    """Both the workers (sent, dead) and the receiver (delivered, undelivered) write the list, and
    both take part in dead-lettering undelivered recipients (the workers keep the task's bytes)."""
    func = click.option(
        "--dead-letter-undelivered/--no-dead-letter-undelivered",
        default=None,
        help="Dead-letter a recipient whose delivery report says undelivered (reason undelivered), "
        "so 'dlq replay' sends it again, e.g. through a failover chain. The workers then keep each "
        "task's bytes with its receipts (--receipt-ttl). Give it to the workers and to receipts alike. "
        "[default: off] [env: SMSWORKER_DEAD_LETTER_UNDELIVERED]",
    )(func)
    func = _option(
        "--receipts-list-max", "Changes the list keeps; older ones are dropped (LTRIM).", "100000"
    )(func)
    return click.option(
        "--receipts-list/--no-receipts-list",
        default=None,
        help="Also push every status change of a task pushed with an id, as JSON, to the Redis list "
        "{<queue>}:changes, for your app to brPop (SmsQueue::nextChange). Give it to the workers and "
        "to receipts alike. [default: off] [env: SMSWORKER_RECEIPTS_LIST]",
    )(func)


_DASHBOARD = [
    (
        "--dashboard-address",
        "Address the dashboard listens on (put a TLS proxy in front of it).",
        "127.0.0.1",
    ),
    ("--dashboard-port", "Port the dashboard listens on.", "8091"),
    ("--dashboard-users-file", "The users who may log in (smsworker dashboard add-user writes it).", None),
    (
        "--dashboard-secret-file",
        "File holding the key (32+ characters) session cookies are signed with; without it a new key "
        "is made at each start, which logs everyone out.",
        None,
    ),
    (
        "--dashboard-allowed-hosts",
        "Host names the pages are served under, comma-separated (.example.com: any name under it); "
        "IP addresses and localhost always work. Others get 400, so that no other site's page can "
        "read the dashboard through a name that points here (DNS rebinding).",
        None,
    ),
    (
        "--dashboard-trusted-proxies",
        "Addresses or networks of the proxies in front, comma-separated: their X-Forwarded-For names "
        "the client (the login limit, the audit log). Without them the proxy is the client.",
        None,
    ),
    (
        "--dashboard-idle-timeout",
        "Seconds a session may go unused before it ends (it ends after 12 hours in any case).",
        "3600",
    ),
]


def dashboard_options(func: F) -> F:
    for flag, help_text, default in reversed(_DASHBOARD):
        func = _option(flag, help_text, default)(func)
    func = click.option(
        "--dashboard-no-auth",
        is_flag=True,
        default=None,
        help="No logins (a warning is logged); refused unless the address is loopback. "
        "[env: SMSWORKER_DASHBOARD_NO_AUTH]",
    )(func)
    return click.option(
        "--dashboard-behind-tls",
        is_flag=True,
        default=None,
        help="A TLS proxy serves the pages: the session cookie is marked Secure. "
        "[env: SMSWORKER_DASHBOARD_BEHIND_TLS]",
    )(func)


def worker_options(func: F) -> F:
    func = _changes_list_options(func)
    func = click.option(
        "--mask-mobiles/--no-mask-mobiles",
        default=None,
        help="Mask phone numbers in logs (138****8000). [default: mask] [env: SMSWORKER_MASK_MOBILES]",
    )(func)
    func = click.option(
        "--group-tasks/--no-group-tasks",
        default=None,
        help="Send claimed tasks that carry the same template, content and params (and no id) in "
        "one request, up to the provider's batch size (Alibaba 1,000, Tencent 200, "
        "--http-batch-size); each task still settles on its own. Nothing waits to fill a request. "
        "[default: on] [env: SMSWORKER_GROUP_TASKS]",
    )(func)
    func = click.option(
        "--rate-limit",
        "rate_limits",
        multiple=True,
        help="Requests per second a provider may take, shared by every worker on this Redis: "
        "'aliyun=500/s', or '500/s' for all; repeatable. [env: SMSWORKER_RATE_LIMITS, comma-separated]",
    )(func)
    func = click.option(
        "--http-header",
        "http_headers",
        multiple=True,
        help="Extra header for the http provider, 'Name: value'; repeatable. "
        "[env: SMSWORKER_HTTP_HEADERS, one a line]",
    )(func)
    for flag, help_text, default in reversed(_WORKER):
        func = _option(flag, help_text, default)(func)
    return func


class SettingError(click.ClickException):
    exit_code = 2


@contextmanager
def friendly_errors(settings: Settings | None = None) -> Iterator[None]:
    """Turn what a bad setting or an unhelpful Redis can raise into one line that says what to do."""
    try:
        yield
    except ConfigError as exc:
        raise SettingError(str(exc)) from None
    except StartupError as exc:
        raise click.ClickException(str(exc)) from None
    except redis.RedisError as exc:
        where = settings.redacted_redis_url() if settings else "Redis"
        raise click.ClickException(redis_problem(exc, where)) from None


def redis_problem(exc: redis.RedisError, where: str) -> str:
    """One line for a Redis error, naming the setting to look at; never a password."""
    said = redact_url(str(exc)).rstrip(".") or type(exc).__name__
    if isinstance(exc, redis.AuthenticationError) or "WRONGPASS" in said or "NOAUTH" in said:
        return (
            f"Redis at {where} refused the credentials ({said}). "
            "Check --redis-username and --redis-password-file."
        )
    if isinstance(exc, redis.TimeoutError):
        return (
            f"Redis at {where} accepted the connection but did not answer in time ({said}). "
            "Is it overloaded, loading, or stopped?"
        )
    if "DB index is out of range" in said or "invalid db" in said.lower():
        return (
            f"Redis at {where} has no such database ({said}). Use a smaller number in --redis-url, "
            "or raise 'databases' in redis.conf."
        )
    if isinstance(exc, redis.ConnectionError):
        return (
            f"cannot reach Redis at {where}: {said}. Is redis-server running? "
            "Set --redis-url or SMSWORKER_REDIS_URL."
        )
    hint = {
        "WRONGTYPE": " A key smsworker uses holds another type: check --queue and --dead-letter-queue.",
        "NOPERM": " The ACL user lacks a command or key smsworker needs (see the README's Redis keys).",
        "MOVED": " This is a Redis Cluster node.",
    }
    extra = next((text for code, text in hint.items() if said.startswith(code)), "")
    return f"Redis at {where} answered with an error: {said}.{extra}"


def settings_from(flags: dict[str, Any]) -> Settings:
    config = flags.pop("config", None)
    with friendly_errors():
        return load_settings(flags, os.environ, config)


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
