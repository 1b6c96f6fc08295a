"""Loading settings: defaults < TOML file < ``SMSWORKER_*`` environment < command-line flags.

Parsed once at the edge (the CLI) into a frozen, validated ``Settings`` (each setting is declared in
``schema.py``); nothing else reads the environment. Every error names the setting and where the bad
value came from.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smsworker.config import values
from smsworker.config.declare import ENV_PREFIX
from smsworker.config.schema import BY_NAME, LOG_FORMATS, LOG_LEVELS, SETTING_NAMES, SETTINGS, Settings
from smsworker.errors import ConfigError
from smsworker.store.keys import hash_tag, key_prefix

__all__ = ["LOG_FORMATS", "LOG_LEVELS", "SETTING_NAMES", "Settings", "load_settings", "read_secret_file"]

# Providers with a settings table of their own: [aliyun] in TOML, SMSWORKER_ALIYUN_<KEY> in the
# environment. Secrets live only there (or in files they name), never in flags.
PROVIDER_SECTIONS = ("aliyun", "tencent", "twilio")
_BY_TOML = {declared.toml: declared.name for declared in SETTINGS}


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
    _from_environment(environ, layers)
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


def _from_environment(environ: Mapping[str, str], layers: dict[str, tuple[Any, str]]) -> None:
    """Each setting's environment variable, over the file; else its systemd credential (a file
    named in LoadCredential=), unless the file set it."""
    credentials = Path(environ.get("CREDENTIALS_DIRECTORY") or "/nonexistent")
    for declared in SETTINGS:
        name = declared.credential
        if name and declared.name not in layers and (credentials / name).is_file():
            layers[declared.name] = (str(credentials / name), f"credential {name}")
        if declared.env in environ:
            layers[declared.name] = (environ[declared.env], f"environment {declared.env}")


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
        if name in PROVIDER_SECTIONS:
            out[name] = value
        elif name in _BY_TOML:
            out[_BY_TOML[name]] = value
        else:
            raise ConfigError(f"config file {path}: unknown setting {key!r}")
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


def flag_name(setting: str) -> str:
    return BY_NAME[setting].flag


def _convert(name: str, value: Any, source: str) -> Any:
    declared = BY_NAME[name]
    try:
        return declared.convert(value)
    except ValueError as exc:
        shown = declared.reveal(value) if declared.reveal else f" {value!r}"
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
