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
from urllib.parse import urlsplit, urlunsplit

import phonenumbers

from smsworker.errors import ConfigError
from smsworker.ratelimit import parse_rate_limits

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
    # Redis Sentinel: "host:port" of each sentinel, and the name of the primary they watch.
    sentinels: tuple[str, ...] = ()
    sentinel_master: str = "mymaster"
    queue: str = "sms_queue"
    dead_letter_queue: str = ""  # empty: "<queue>:dead"
    provider: str = "log"
    http_url: str = ""
    http_headers: tuple[str, ...] = ()
    http_timeout: float = 10.0
    http_batch_size: int = 1
    concurrency: int = 8
    processes: int = 1
    rate_limits: tuple[str, ...] = ()
    metrics_port: int = 0  # 0: no metrics endpoint
    metrics_address: str = "127.0.0.1"  # "aliyun=500/s", or "500/s" for every provider
    max_attempts: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    heartbeat_ttl: int = 30
    shutdown_timeout: float = 30.0
    default_region: str = "CN"
    max_payload_bytes: int = 1_048_576
    max_recipients: int = 10_000
    log_format: str = "auto"
    log_level: str = "info"
    mask_mobiles: bool = True
    # Per-provider tables, e.g. {"aliyun": {"access_key_id": ..., "templates": {...}}}.
    provider_options: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)

    @property
    def dead_letter_key(self) -> str:
        return self.dead_letter_queue or f"{self.queue}:dead"

    def http_header_pairs(self) -> list[tuple[str, str]]:
        return [_split_header(h) for h in self.http_headers]

    def redis_password(self) -> str | None:
        """The password from ``redis_password_file``; ``ConfigError`` if it cannot be read."""
        if not self.redis_password_file:
            return None
        try:
            return Path(self.redis_password_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"cannot read redis_password_file {self.redis_password_file}: {exc.strerror}"
            ) from None

    def redacted_redis_url(self) -> str:
        """The Redis URL with any password replaced, for logs and messages."""
        parts = urlsplit(self.redis_url)
        if parts.password is None:
            return self.redis_url
        user = parts.username or ""
        netloc = f"{user}:***@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))


SETTING_NAMES = tuple(f.name for f in dataclasses.fields(Settings) if f.name != "provider_options")


def load_settings(
    flags: Mapping[str, Any],
    environ: Mapping[str, str],
    config_path: str | None = None,
) -> Settings:
    """Merge the layers and validate. ``flags`` holds only the options given (others are None)."""
    values: dict[str, tuple[Any, str]] = {}
    sections: dict[str, dict[str, Any]] = {name: {} for name in PROVIDER_SECTIONS}
    path = config_path or environ.get(ENV_PREFIX + "CONFIG")
    if path:
        _from_file(Path(path), values, sections)
    _sections_from_env(environ, sections)
    _sections_from_credentials(environ.get("CREDENTIALS_DIRECTORY"), sections)
    credential = Path(environ.get("CREDENTIALS_DIRECTORY") or "/nonexistent") / "redis_password"
    if "redis_password_file" not in values and credential.is_file():
        values["redis_password_file"] = (str(credential), "credential redis_password")
    for name in SETTING_NAMES:
        env_name = ENV_PREFIX + name.upper()
        if env_name in environ:
            values[name] = (environ[env_name], f"environment {env_name}")
    for name, value in flags.items():
        if value is not None and value != ():
            values[name] = (value, "--" + name.replace("_", "-"))
    converted = {name: _convert(name, value, source) for name, (value, source) in values.items()}
    settings = Settings(**converted, provider_options={k: v for k, v in sections.items() if v})
    _check_relations(settings)
    return settings


def _from_file(path: Path, values: dict[str, tuple[Any, str]], sections: dict[str, dict[str, Any]]) -> None:
    for name, value in _read_toml(path).items():
        if name in PROVIDER_SECTIONS:
            sections[name].update(_section(value, name, str(path)))
        else:
            values[name] = (value, f"config file {path}")


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


def _section(value: Any, name: str, path: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"config file {path}: [{name}] must be a table")
    return {key.replace("-", "_"): item for key, item in value.items()}


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _to_headers(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [line for line in value.splitlines() if line.strip()]
    elif isinstance(value, Mapping):
        items = [f"{k}: {v}" for k, v in value.items()]
    else:
        items = [str(v) for v in value]
    for item in items:
        _split_header(item)
    return tuple(items)


def _split_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
        raise ValueError(f"{text!r} is not a header of the form 'Name: value'")
    return name.strip(), value.strip()


def _rate_limits(value: Any) -> tuple[str, ...]:
    items = (
        [p.strip() for p in value.replace("\n", ",").split(",")] if isinstance(value, str) else list(value)
    )
    specs = tuple(str(item) for item in items if str(item).strip())
    try:
        parse_rate_limits(specs)
    except ConfigError as exc:
        raise ValueError(str(exc).partition(": ")[2]) from None
    return specs


def _sentinels(value: Any) -> tuple[str, ...]:
    items = (
        [p.strip() for p in value.split(",")] if isinstance(value, str) else [str(p).strip() for p in value]
    )
    for item in items:
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"{item!r} is not host:port")
    return tuple(item for item in items if item)


def _port(value: Any) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ValueError("must be a port number (0 turns metrics off)") from None
    if not 0 <= port <= 65535:
        raise ValueError("must be between 0 and 65535")
    return port


def _positive(kind: type) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a number")
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ValueError(f"must be {'an integer' if kind is int else 'a number'}") from None
        if not number > 0:
            raise ValueError("must be greater than 0")
        return number

    return convert


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return text

    return convert


def _region(value: Any) -> str:
    text = str(value).strip().upper()
    if text not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("must be a two-letter region code phonenumbers knows, e.g. CN or US")
    return text


def _redis_url(value: Any) -> str:
    text = str(value).strip()
    if urlsplit(text).scheme not in ("redis", "rediss", "unix"):
        raise ValueError("must start with redis://, rediss:// or unix://")
    return text


def _nonempty(value: Any) -> str:
    text = str(value).strip()
    if not text:
        raise ValueError("must not be empty")
    return text


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "redis_url": _redis_url,
    "redis_username": lambda v: str(v).strip(),
    "redis_password_file": lambda v: str(v).strip(),
    "redis_tls_ca_file": lambda v: str(v).strip(),
    "redis_tls_cert_file": lambda v: str(v).strip(),
    "redis_tls_key_file": lambda v: str(v).strip(),
    "sentinels": lambda v: _sentinels(v),
    "sentinel_master": _nonempty,
    "queue": _nonempty,
    "dead_letter_queue": lambda v: str(v).strip(),
    "provider": lambda v: _nonempty(v).lower(),
    "http_url": lambda v: str(v).strip(),
    "http_headers": _to_headers,
    "http_timeout": _positive(float),
    "http_batch_size": _positive(int),
    "concurrency": _positive(int),
    "processes": _positive(int),
    "rate_limits": lambda v: _rate_limits(v),
    "metrics_port": lambda v: _port(v),
    "metrics_address": _nonempty,
    "max_attempts": _positive(int),
    "backoff_base": _positive(float),
    "backoff_max": _positive(float),
    "heartbeat_ttl": _positive(int),
    "shutdown_timeout": _positive(float),
    "default_region": _region,
    "max_payload_bytes": _positive(int),
    "max_recipients": _positive(int),
    "log_format": _choice(LOG_FORMATS),
    "log_level": _choice(LOG_LEVELS),
    "mask_mobiles": _to_bool,
}


def _convert(name: str, value: Any, source: str) -> Any:
    try:
        return _CONVERTERS[name](value)
    except ValueError as exc:
        raise ConfigError(f"invalid {name} {value!r} (from {source}): {exc}") from None


def _check_relations(settings: Settings) -> None:
    if settings.heartbeat_ttl < 3:
        raise ConfigError("invalid heartbeat_ttl: must be at least 3 seconds (renewed every third)")
    if settings.backoff_max < settings.backoff_base:
        raise ConfigError("invalid backoff_max: must not be smaller than backoff_base")
    if settings.dead_letter_key == settings.queue:
        raise ConfigError("invalid dead_letter_queue: must differ from queue")
    if settings.metrics_port and settings.processes > 1:
        raise ConfigError(
            "invalid metrics_port with processes > 1: the processes cannot share one port; "
            "run one smsworker@ instance per port instead"
        )
    if settings.http_url and urlsplit(settings.http_url).scheme not in ("http", "https"):
        raise ConfigError(f"invalid http_url {settings.http_url!r}: must be an http:// or https:// URL")
