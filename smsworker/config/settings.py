"""Loading settings: defaults < TOML file < ``SMSWORKER_*`` environment < command-line flags.

Parsed once at the edge (the CLI) into a frozen, validated ``Settings`` (each setting is declared in
``schema.py``); nothing else reads the environment. Every error names the setting and where the bad
value came from.
"""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smsworker.config import addresses
from smsworker.config.declare import ENV_PREFIX
from smsworker.config.lanes import Given, build_lanes, lanes_from_env
from smsworker.config.messages import NOT_UTF8, cannot_read, did_you_mean, os_reason, reason, source
from smsworker.config.schema import BY_NAME, LOG_FORMATS, LOG_LEVELS, SETTING_NAMES, SETTINGS, Settings
from smsworker.config.tomlfile import read_file, unknown_key
from smsworker.config.vendors import TABLES
from smsworker.errors import ConfigError
from smsworker.language import Text
from smsworker.store.keys import hash_tag, key_prefix

__all__ = ["LOG_FORMATS", "LOG_LEVELS", "SETTING_NAMES", "Settings", "load_settings", "read_secret_file"]

Layers = dict[str, tuple[Any, Text]]


def load_settings(
    flags: Mapping[str, Any],
    environ: Mapping[str, str],
    config_path: str | None = None,
) -> Settings:
    """Merge the layers and validate. ``flags`` holds only the options given (others are None)."""
    layers: Layers = {}
    # Vendors' tables: [aliyun] in TOML, SMSWORKER_ALIYUN_<KEY> in the environment. Secrets live
    # only there (or in files they name), never in flags.
    sections: dict[str, dict[str, Any]] = {name: {} for name in TABLES}
    # Lanes: [lanes.<name>] in TOML, in file order; SMSWORKER_LANES_<NAME>_<KEY> for a lane declared there.
    lanes: dict[str, Given] = {}
    path = config_path or environ.get(ENV_PREFIX + "CONFIG")
    if path:
        found = read_file(Path(path))
        layers.update({name: (value, found.origin) for name, value in found.settings.items()})
        for vendor, table in found.tables.items():
            sections[vendor].update(table)
        lanes = found.lanes
    lanes_from_env(environ, lanes)
    _sections_from_env(environ, sections)
    _sections_from_credentials(environ.get("CREDENTIALS_DIRECTORY"), sections)
    _from_environment(environ, layers)
    for name, value in flags.items():
        if value is not None and value != ():
            layers[name] = (value, source("flag", flag_name(name)))
    converted = {name: _convert(name, value, origin) for name, (value, origin) in layers.items()}
    settings = Settings(
        **converted,
        provider_options={k: v for k, v in sections.items() if v},
        lanes=build_lanes(lanes),
        redis_password=_read_secret(converted, "redis_password_file"),
        http_report_secret=_read_secret(converted, "http_report_secret_file"),
        receipts_path_token=_read_secret(converted, "receipts_path_token_file"),
        dashboard_secret=_read_secret(converted, "dashboard_secret_file"),
    )
    _check_relations(settings)
    return settings


def _from_environment(environ: Mapping[str, str], layers: Layers) -> None:
    """Each setting's environment variable, over the file; else its systemd credential (a file
    named in LoadCredential=), unless the file set it."""
    credentials = Path(environ.get("CREDENTIALS_DIRECTORY") or "/nonexistent")
    for declared in SETTINGS:
        name = declared.credential
        if name and declared.name not in layers and (credentials / name).is_file():
            layers[declared.name] = (str(credentials / name), source("credential", name))
        if declared.env in environ:
            layers[declared.name] = (environ[declared.env], source("environment", declared.env))


def _sections_from_env(environ: Mapping[str, str], sections: dict[str, dict[str, Any]]) -> None:
    """``SMSWORKER_<VENDOR>_<KEY>``: a key of that vendor's table; one it does not declare is refused."""
    for env_name, value in environ.items():
        for table in TABLES.values():
            prefix = f"{ENV_PREFIX}{table.vendor.upper()}_"
            if env_name.startswith(prefix):
                key = env_name[len(prefix) :].lower()
                if key not in table.accepted:
                    raise ConfigError(source("environment", env_name) + unknown_key(table, key))
                sections[table.vendor][key] = value


def _sections_from_credentials(directory: str | None, sections: dict[str, dict[str, Any]]) -> None:
    """systemd's LoadCredential=: the credential <vendor>_<key> is the file of that vendor's secret
    <key>, unless <key>_file is set. Another <vendor>_... credential that no <key>_file names is
    refused: a typo in a LoadCredential= line would otherwise only show as a missing secret."""
    if not directory or not Path(directory).is_dir():
        return
    for credential in sorted(Path(directory).iterdir()):
        vendor, _, key = credential.name.partition("_")
        table = TABLES.get(vendor)
        if table is None or not key or str(credential) in sections[vendor].values():
            continue
        if credential.name not in table.credentials:
            raise ConfigError(
                source("credential", credential.name)
                + Text(
                    f": no secret of [{vendor}] has this name (LoadCredential=<name>:<file>)",
                    f"：[{vendor}] 没有叫这个名字的密钥（LoadCredential=<名字>:<文件>）",
                )
                + did_you_mean(credential.name, table.credentials)
            )
        sections[vendor].setdefault(f"{key}_file", str(credential))


def _read_secret(converted: Mapping[str, Any], setting: str) -> str | None:
    path = converted.get(setting, "")
    return read_secret_file(path, setting) if path else None


def read_secret_file(path: str, setting: str) -> str:
    """The secret in ``path``, stripped; ``ConfigError`` naming ``setting`` if it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(cannot_read(setting, path, os_reason(exc))) from None
    except UnicodeDecodeError:
        raise ConfigError(cannot_read(setting, path, NOT_UTF8)) from None


def flag_name(setting: str) -> str:
    return BY_NAME[setting].flag


def _convert(name: str, value: Any, origin: Text) -> Any:
    declared = BY_NAME[name]
    try:
        return declared.convert(value)
    except ValueError as exc:
        shown = declared.reveal(value) if declared.reveal else f" {value!r}"
        frame = Text(
            f"invalid {name}{shown} (from ",
            f"{name} 的值{shown} 无效（来自" if shown else f"{name} 的值无效（来自",
        )
        raise ConfigError(frame + origin + Text("): ", "）：") + reason(exc)) from None


def _check_relations(settings: Settings) -> None:
    if settings.backoff_max < settings.backoff_base:
        raise ConfigError(
            Text(
                "invalid backoff_max: must not be smaller than backoff_base",
                "backoff_max 无效：不能小于 backoff_base",
            )
        )
    if settings.dead_letter_key == settings.queue:
        raise ConfigError(
            Text(
                "invalid dead_letter_queue: must differ from queue",
                "dead_letter_queue 无效：不能与 queue 相同",
            )
        )
    if hash_tag(settings.queue) is None and hash_tag(key_prefix(settings.queue)) != settings.queue:
        raise ConfigError(
            Text(
                f"invalid queue {settings.queue!r}: a '}}' outside a {{hash tag}} would put the queue's "
                "other keys in another Redis Cluster slot; name the list without it",
                f"queue {settings.queue!r} 无效：{{hash tag}} 之外的 '}}' 会让队列的其他键落到 Redis Cluster "
                "的另一个槽里；请换一个不带它的名字",
            )
        )
    reserved = sum(lane.concurrency for lane in settings.lanes)
    if settings.lanes and reserved >= settings.concurrency:
        raise ConfigError(
            Text(
                f"invalid concurrency {settings.concurrency}: the lanes reserve {reserved} senders "
                "([lanes.<name>] concurrency); raise concurrency or lower theirs, so some senders are "
                "shared by the lanes that reserve none",
                f"concurrency {settings.concurrency} 无效：各通道已预留 {reserved} 个发送线程"
                "（[lanes.<name>] concurrency）；请调高 concurrency 或调低通道的预留，"
                "留出供未预留的通道共用的发送线程",
            )
        )
    _check_dashboard(settings)
    _check_redis_mode(settings)


def _check_dashboard(settings: Settings) -> None:
    if settings.dashboard_secret is not None and len(settings.dashboard_secret) < 32:
        raise ConfigError(
            Text(
                "dashboard_secret_file must hold at least 32 characters",
                "dashboard_secret_file 里的密钥至少要 32 个字符",
            )
        )
    if settings.dashboard_no_auth and not addresses.is_loopback(settings.dashboard_address):
        address = settings.dashboard_address
        raise ConfigError(
            Text(
                f"invalid dashboard_no_auth with dashboard_address {address}: a dashboard "
                "without logins may listen on a loopback address only (127.0.0.1, ::1)",
                f"dashboard_no_auth 不能与 dashboard_address {address} 同用：不要登录的控制台只能监听"
                "本机回环地址（127.0.0.1、::1）",
            )
        )


def _check_redis_mode(settings: Settings) -> None:
    if settings.redis_cluster and settings.sentinels:
        raise ConfigError(
            Text(
                "invalid redis_cluster with sentinels: a Redis Cluster has no sentinels; give one",
                "redis_cluster 不能与 sentinels 同用：Redis Cluster 没有哨兵，两者只能选一个",
            )
        )
    if settings.redis_cluster and settings.redis_db:
        raise ConfigError(
            Text(
                "invalid redis_url with redis_cluster: a Redis Cluster has only database 0",
                "redis_url 与 redis_cluster 冲突：Redis Cluster 只有 0 号数据库",
            )
        )
