"""Settings: defaults < TOML file < ``SMSWORKER_*`` environment < command-line flags.

Parsed once at the edge (the CLI) into a frozen, validated ``Settings``; nothing else reads the
environment. Every error names the setting and where the bad value came from.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smsworker.config import values
from smsworker.errors import ConfigError
from smsworker.redact import redact_url
from smsworker.store.keys import default_dead_letter_key, hash_tag, key_prefix

ENV_PREFIX = "SMSWORKER_"
# Providers with a settings table of their own: [aliyun] in TOML, SMSWORKER_ALIYUN_<KEY> in the
# environment. Secrets live only there (or in files they name), never in flags.
PROVIDER_SECTIONS = ("aliyun", "tencent", "twilio")
LOG_FORMATS = ("auto", "json", "console")
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    # ACL user and password: the password only from a file (or the systemd credential redis_password).
    redis_username: str = ""
    redis_password_file: str = ""
    # TLS for rediss:// URLs: the CA to trust, and a client certificate if the server asks for one.
    redis_tls_ca_file: str = ""
    redis_tls_cert_file: str = ""
    redis_tls_key_file: str = ""
    # Redis Sentinel: (host, port) of each sentinel, and the name of the primary they watch.
    sentinels: tuple[tuple[str, int], ...] = ()
    sentinel_master: str = "mymaster"
    # Redis Cluster: (host, port) of one or more seed nodes; the URL still gives scheme and user.
    redis_cluster: tuple[tuple[str, int], ...] = ()
    queue: str = "sms_queue"
    dead_letter_queue: str = ""  # empty: "{<queue>}:dead"
    provider: str = "log"
    http_url: str = ""
    http_headers: tuple[tuple[str, str], ...] = ()  # (name, value)
    http_timeout: float = 10.0
    http_batch_size: int = 1
    # Claimed tasks with the same template, content and params share provider requests.
    group_tasks: bool = True
    concurrency: int = 8
    processes: int = 1
    # Requests per second by provider name; "*" for every provider.
    rate_limits: Mapping[str, float] = dataclasses.field(default_factory=dict)
    metrics_port: int = 0  # 0: no metrics endpoint
    metrics_address: str = "127.0.0.1"
    max_attempts: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    heartbeat_ttl: int = 30
    shutdown_timeout: float = 30.0
    default_region: str = "CN"
    max_payload_bytes: int = 1_048_576
    max_recipients: int = 10_000
    poison_after: int = 3  # workers that may die holding one task before it is set aside
    receipt_ttl: int = 72 * 3600  # seconds a recipient's status and a receipt record are kept
    # smsworker receipts: where it listens (loopback unless said otherwise: it faces vendors through
    # a proxy), the file holding the secret the http provider's reports are signed with, the file
    # holding the token in the path of Alibaba's and Tencent's pushes (they sign nothing), and the
    # networks those pushes may come from (empty: any).
    receipts_address: str = "127.0.0.1"
    receipts_port: int = 8090
    http_report_secret_file: str = ""
    receipts_path_token_file: str = ""
    receipts_allow: tuple[Any, ...] = ()
    receipts_metrics_port: int | None = None  # its own: a worker on the same host has metrics_port
    # Pulling reports from the vendors' APIs instead of (or besides) taking their pushes: which
    # vendors, how long a receipt waits for its report before it is asked about, and how often.
    # Each status change also pushed to Q:changes for the producer's app, capped at receipts_list_max.
    receipts_list: bool = False
    receipts_list_max: int = 100_000
    # An undelivered report dead-letters the recipient (reason undelivered), so dlq replay resends it.
    dead_letter_undelivered: bool = False
    receipts_pull: tuple[str, ...] = ()
    receipts_pull_after: float = 60.0
    receipts_pull_every: float = 30.0
    # A report that comes before its task has settled is held this long for its receipt record to
    # appear (0: not held, unmatched at once), and at most this many are held at a time.
    receipts_hold: float = 6 * 3600.0
    receipts_hold_max: int = 100_000
    # smsworker dashboard: where it listens (loopback by default), who may log in (a file of users with
    # password hashes and roles, written by `dashboard add-user`), the file holding the key its session
    # cookies are signed with (empty: a new key each start, so a restart logs everyone out), whether
    # it is served over TLS by a proxy (the cookies are then Secure), and no auth at all (loopback only).
    dashboard_address: str = "127.0.0.1"
    dashboard_port: int = 8091
    dashboard_users_file: str = ""
    dashboard_secret_file: str = ""
    dashboard_behind_tls: bool = False
    dashboard_no_auth: bool = False
    # Host names the dashboard answers to besides IP addresses and localhost (a page of another
    # site, its name pointed at this address, must not read it: DNS rebinding), the proxies whose
    # X-Forwarded-For is believed (the client's address, for the login limit and the audit log),
    # and how long a session may sit unused.
    dashboard_allowed_hosts: tuple[str, ...] = ()
    dashboard_trusted_proxies: tuple[Any, ...] = ()
    dashboard_idle_timeout: float = 3600.0
    log_format: str = "auto"
    log_level: str = "info"
    mask_mobiles: bool = True
    # Per-provider tables, e.g. {"aliyun": {"access_key_id": ..., "templates": {...}}}.
    provider_options: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict, repr=False)
    # Derived by load_settings, never set directly: the password read from its file, once.
    redis_password: str | None = dataclasses.field(default=None, repr=False)
    # Derived the same way: the secrets read from http_report_secret_file, receipts_path_token_file
    # and dashboard_secret_file.
    http_report_secret: str | None = dataclasses.field(default=None, repr=False)
    receipts_path_token: str | None = dataclasses.field(default=None, repr=False)
    dashboard_secret: str | None = dataclasses.field(default=None, repr=False)
    # Derived from redis_url (its path or ?db=).
    redis_db: int = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "redis_db", values.redis_db(self.redis_url))

    @property
    def dead_letter_key(self) -> str:
        return self.dead_letter_queue or default_dead_letter_key(self.queue)

    def redacted_redis_url(self) -> str:
        """The Redis URL with any password replaced, for logs and messages."""
        return redact_url(self.redis_url)


# What a user sets; the rest of the fields are derived from these.
_DERIVED = (
    "provider_options",
    "redis_password",
    "http_report_secret",
    "receipts_path_token",
    "dashboard_secret",
    "redis_db",
)
SETTING_NAMES = tuple(f.name for f in dataclasses.fields(Settings) if f.name not in _DERIVED)


def load_settings(
    flags: Mapping[str, Any],
    environ: Mapping[str, str],
    config_path: str | None = None,
) -> Settings:
    """Merge the layers and validate. ``flags`` holds only the options given (others are None)."""
    layers: dict[str, tuple[Any, str]] = {}
    sections: dict[str, dict[str, Any]] = {name: {} for name in PROVIDER_SECTIONS}
    path = config_path or environ.get(ENV_PREFIX + "CONFIG")
    if path:
        _from_file(Path(path), layers, sections)
    _sections_from_env(environ, sections)
    _sections_from_credentials(environ.get("CREDENTIALS_DIRECTORY"), sections)
    credentials = Path(environ.get("CREDENTIALS_DIRECTORY") or "/nonexistent")
    for setting, name in CREDENTIALS.items():
        if setting not in layers and (credentials / name).is_file():
            layers[setting] = (str(credentials / name), f"credential {name}")
    for name in SETTING_NAMES:
        env_name = ENV_PREFIX + name.upper()
        if env_name in environ:
            layers[name] = (environ[env_name], f"environment {env_name}")
    for name, value in flags.items():
        if value is not None and value != ():
            layers[name] = (value, flag_name(name))
    converted = {name: _convert(name, value, source) for name, (value, source) in layers.items()}
    settings = Settings(
        **converted,
        provider_options={k: v for k, v in sections.items() if v},
        redis_password=_read_secret(converted, "redis_password_file"),
        http_report_secret=_read_secret(converted, "http_report_secret_file"),
        receipts_path_token=_read_secret(converted, "receipts_path_token_file"),
        dashboard_secret=_read_secret(converted, "dashboard_secret_file"),
    )
    _check_relations(settings)
    return settings


def _from_file(path: Path, layers: dict[str, tuple[Any, str]], sections: dict[str, dict[str, Any]]) -> None:
    for name, value in _read_toml(path).items():
        if name in PROVIDER_SECTIONS:
            sections[name].update(_section(value, name, str(path)))
        else:
            layers[name] = (value, f"config file {path}")


def _sections_from_env(environ: Mapping[str, str], sections: dict[str, dict[str, Any]]) -> None:
    for env_name, value in environ.items():
        for section in PROVIDER_SECTIONS:
            prefix = f"{ENV_PREFIX}{section.upper()}_"
            if env_name.startswith(prefix):
                sections[section][env_name[len(prefix) :].lower()] = value


def _sections_from_credentials(directory: str | None, sections: dict[str, dict[str, Any]]) -> None:
    """systemd's LoadCredential=: a credential named <provider>_<key> is that setting's secret file."""
    if not directory or not Path(directory).is_dir():
        return
    for credential in sorted(Path(directory).iterdir()):
        provider, _, key = credential.name.partition("_")
        if provider in sections and key and f"{key}_file" not in sections[provider]:
            sections[provider][f"{key}_file"] = str(credential)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name not in SETTING_NAMES and name not in PROVIDER_SECTIONS:
            raise ConfigError(f"config file {path}: unknown setting {key!r}")
        out[name] = value
    return out


def _read_secret(converted: Mapping[str, Any], setting: str) -> str | None:
    path = converted.get(setting, "")
    return read_secret_file(path, setting) if path else None


def read_secret_file(path: str, setting: str) -> str:
    """The secret in ``path``, stripped; ``ConfigError`` naming ``setting`` if it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read {setting} {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"cannot read {setting} {path}: not UTF-8 text") from None


def _section(value: Any, name: str, path: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"config file {path}: [{name}] must be a table")
    return {key.replace("-", "_"): item for key, item in value.items()}


# What each setting accepts. Bounds are what the code can honour, and generous for anything real.
_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "redis_url": values.redis_url,
    "redis_username": values.text,
    "redis_password_file": values.text,
    "redis_tls_ca_file": values.text,
    "redis_tls_cert_file": values.text,
    "redis_tls_key_file": values.text,
    "sentinels": values.host_ports,
    "redis_cluster": values.host_ports,
    "sentinel_master": values.nonempty,
    "queue": values.nonempty,
    "dead_letter_queue": values.text,
    "provider": lambda v: values.nonempty(v).lower(),
    "http_url": values.http_url,
    "http_headers": values.headers,
    "http_timeout": values.seconds(3600),
    "http_batch_size": values.number(int, 1, 10_000),
    "concurrency": values.number(int, 1, 1024),
    "processes": values.processes,
    "rate_limits": values.rate_limits,
    "metrics_port": values.port,
    "metrics_address": values.nonempty,
    "max_attempts": values.number(int, 1, 1000),
    "backoff_base": values.seconds(3600),
    "backoff_max": values.seconds(values.DAY_S),
    "heartbeat_ttl": values.number(int, 3, int(values.DAY_S)),  # renewed every third: 1 s at least
    "shutdown_timeout": values.seconds(values.DAY_S),
    "default_region": values.region,
    # Redis refuses strings over 512 MB.
    "max_payload_bytes": values.number(int, 1, 512 * 1024 * 1024),
    "max_recipients": values.number(int, 1, 1_000_000),
    "poison_after": values.number(int, 1, 1000),
    "receipt_ttl": values.number(int, 60, int(30 * values.DAY_S)),
    "receipts_address": values.nonempty,
    "receipts_port": values.number(int, 1, 65535),
    "http_report_secret_file": values.text,
    "receipts_path_token_file": values.text,
    "receipts_allow": values.networks,
    "receipts_metrics_port": values.port,
    "receipts_list": values.to_bool,
    "dashboard_address": values.nonempty,
    "dashboard_port": values.number(int, 1, 65535),
    "dashboard_users_file": values.text,
    "dashboard_secret_file": values.text,
    "dashboard_behind_tls": values.to_bool,
    "dashboard_no_auth": values.to_bool,
    "dashboard_allowed_hosts": values.host_names,
    "dashboard_trusted_proxies": values.networks,
    "dashboard_idle_timeout": values.number(float, 60, values.DAY_S),
    "dead_letter_undelivered": values.to_bool,
    "group_tasks": values.to_bool,
    "receipts_list_max": values.number(int, 1, 10_000_000),
    "receipts_pull": values.choices(("aliyun", "tencent")),
    "receipts_pull_after": values.number(float, 0, values.DAY_S),
    "receipts_pull_every": values.seconds(3600),
    "receipts_hold": values.number(float, 0, 30 * values.DAY_S),
    "receipts_hold_max": values.number(int, 1, 10_000_000),
    "log_format": values.choice(LOG_FORMATS),
    "log_level": values.choice(LOG_LEVELS),
    "mask_mobiles": values.to_bool,
}
# Settings whose value may hold a secret: an error shows a redacted form, or nothing of it.
_SHOWN: dict[str, Callable[[Any], str]] = {
    "redis_url": lambda v: f" {redact_url(str(v))!r}",
    "http_url": lambda v: f" {redact_url(str(v), query=True)!r}",
    "http_headers": lambda v: "",
}
# systemd credentials (LoadCredential=<name>:<path>) taken as these settings' files unless set.
CREDENTIALS = {
    "redis_password_file": "redis_password",
    "http_report_secret_file": "http_report_secret",
    "receipts_path_token_file": "receipts_path_token",
    "dashboard_users_file": "dashboard_users",
    "dashboard_secret_file": "dashboard_secret",
}
# Flags whose name is not "--" + the setting's name (repeatable flags are singular).
FLAG_NAMES = {
    "http_headers": "--http-header",
    "rate_limits": "--rate-limit",
    "sentinels": "--sentinel",
    "redis_cluster": "--redis-cluster",
}


def flag_name(setting: str) -> str:
    return FLAG_NAMES.get(setting, "--" + setting.replace("_", "-"))


def _convert(name: str, value: Any, source: str) -> Any:
    try:
        return _CONVERTERS[name](value)
    except ValueError as exc:
        shown = _SHOWN[name](value) if name in _SHOWN else f" {value!r}"
        raise ConfigError(f"invalid {name}{shown} (from {source}): {exc}") from None


def _check_relations(settings: Settings) -> None:
    if settings.backoff_max < settings.backoff_base:
        raise ConfigError("invalid backoff_max: must not be smaller than backoff_base")
    if settings.dead_letter_key == settings.queue:
        raise ConfigError("invalid dead_letter_queue: must differ from queue")
    if hash_tag(settings.queue) is None and hash_tag(key_prefix(settings.queue)) != settings.queue:
        raise ConfigError(
            f"invalid queue {settings.queue!r}: a '}}' outside a {{hash tag}} would put the queue's "
            "other keys in another Redis Cluster slot; name the list without it"
        )
    if settings.dashboard_secret is not None and len(settings.dashboard_secret) < 32:
        raise ConfigError("dashboard_secret_file must hold at least 32 characters")
    if settings.dashboard_no_auth and not values.is_loopback(settings.dashboard_address):
        raise ConfigError(
            f"invalid dashboard_no_auth with dashboard_address {settings.dashboard_address}: a dashboard "
            "without logins may listen on a loopback address only (127.0.0.1, ::1)"
        )
    if settings.redis_cluster and settings.sentinels:
        raise ConfigError("invalid redis_cluster with sentinels: a Redis Cluster has no sentinels; give one")
    if settings.redis_cluster and settings.redis_db:
        raise ConfigError("invalid redis_url with redis_cluster: a Redis Cluster has only database 0")
