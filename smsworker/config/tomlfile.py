"""Reading the TOML file: the settings by their TOML names at the top, the vendors' tables and the
lanes' (``[lanes.<name>]``, read by ``lanes.py``) below.

Nothing the file says is ignored: a key that no declaration names, at any level, is refused in one line
naming the file, the table and the key, with the declared name closest to it (a typo in a vendor's
table would otherwise only show as a failed send, or never).
"""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.
from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smsworker.config.lanes import KEYS as LANE_KEYS
from smsworker.config.lanes import Given, lane_tables
from smsworker.config.messages import NOT_UTF8, cannot_read, did_you_mean, os_reason, source
from smsworker.config.schema import SETTINGS
from smsworker.config.vendors import TABLES, VendorTable
from smsworker.errors import ConfigError
from smsworker.language import Text

BY_TOML = {declared.toml: declared.name for declared in SETTINGS}
# How tomllib says where it stopped: "Invalid value (at line 3, column 5)".
_AT = re.compile(r"(?P<what>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)")
CONFIG_FILE = Text("config file", "配置文件")
_TABLE_LIST = ", ".join([*(f"[{name}]" for name in TABLES), "[lanes.<name>]"])


@dataclass
class FileSettings:
    """What a TOML file sets: settings by name, each vendor's table, the lanes' tables in file order."""

    origin: Text
    settings: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    lanes: dict[str, Given] = field(default_factory=dict)


def read_file(path: Path) -> FileSettings:
    """The file's settings; ``ConfigError`` for a file that cannot be read, is not TOML, or holds
    a key no declaration names."""
    origin = source("file", str(path))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(cannot_read(CONFIG_FILE, path, os_reason(exc))) from None
    except UnicodeDecodeError:
        raise ConfigError(cannot_read(CONFIG_FILE, path, NOT_UTF8)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(not_toml(path, str(exc))) from None
    found = FileSettings(origin)
    for key, value in data.items():
        name = key.replace("-", "_")
        if name in TABLES:
            found.tables[name] = vendor_table(TABLES[name], value, origin)
        elif name == "lanes":
            found.lanes = lane_tables(value, origin, BY_TOML)
        elif name in BY_TOML:
            found.settings[BY_TOML[name]] = value
        else:
            raise ConfigError(origin + unknown_setting(name, value))
    return found


def not_toml(path: Path, said: str) -> Text:
    """The parser's words, kept whole in English; in Chinese, where it stopped and its words quoted."""
    at = _AT.fullmatch(said)
    where = f" 第 {at['line']} 行第 {at['column']} 列" if at else ""
    quoted = repr(at["what"] if at else said)
    return Text(
        f"config file {path} is not valid TOML: {said}",
        f"配置文件 {path}{where}不是有效的 TOML（解析器的原话：{quoted}）",
    )


def unknown_setting(key: str, value: Any) -> Text:
    """Why the top-level ``key`` is refused, with what the user most likely meant."""
    owners = [t.vendor for t in TABLES.values() if key in t.accepted]
    if owners:
        table = f"[{owners[0]}]"
        return Text(
            f": unknown setting {key!r}: it belongs in the {table} table, below its header",
            f"：没有 {key!r} 这个设置：它应写在 {table} 表里，即 {table} 这一行之后",
        )
    if isinstance(value, Mapping):
        return _unknown_table(key, value)
    close = did_you_mean(key, [*BY_TOML, *TABLES, "lanes"])
    if close.en:
        return Text(f": unknown setting {key!r}", f"：没有 {key!r} 这个设置") + close
    if key in LANE_KEYS:
        return Text(
            f": unknown setting {key!r}: it belongs in a lane's table, below its [lanes.<name>] header",
            f"：没有 {key!r} 这个设置：它应写在某个通道的表里，即 [lanes.<名字>] 这一行之后",
        )
    return Text(
        f": unknown setting {key!r} (the README's settings table lists every one, in its TOML column)",
        f"：没有 {key!r} 这个设置（README 设置表的 TOML 一列列出了全部设置）",
    )


def _unknown_table(key: str, value: Mapping[str, Any]) -> Text:
    said = Text(f": unknown table [{key}]", f"：没有 [{key}] 这个表")
    flat = [f"{key}_{sub}".replace("-", "_") for sub in value]
    meant = next((name for name in flat if name in BY_TOML), None)
    if meant is not None:
        return said + Text(
            f": settings are not grouped in tables; write {meant} = ... above the first table",
            f"：设置不分表，请在第一个表之前写 {meant} = ...",
        )
    close = did_you_mean(key, [*TABLES, "lanes"])
    if close.en:
        return said + close
    return said + Text(f" (the tables are {_TABLE_LIST})", f"（可用的表只有 {_TABLE_LIST}）")


def vendor_table(table: VendorTable, value: Any, origin: Text) -> dict[str, Any]:
    """The vendor's table as the loader keeps it (``-`` read as ``_``), every key checked."""
    where = f"[{table.vendor}]"
    if not isinstance(value, Mapping):
        raise ConfigError(origin + Text(f": {where} must be a table", f"：{where} 必须是一个表"))
    checked = {}
    for raw, item in value.items():
        key = raw.replace("-", "_")
        if key not in table.accepted:
            raise ConfigError(origin + unknown_key(table, key))
        declared = table.key(key.removesuffix("_file")) if key.endswith("_file") else table.key(key)
        if declared.table:
            _check_templates(table, item, origin)
        elif isinstance(item, (Mapping, list)):
            raise ConfigError(
                origin
                + Text(
                    f": {table.vendor}.{key} takes one value (text or a number), not a table or a list",
                    f"：{table.vendor}.{key} 只能是一个值（文字或数字），不能是表或列表",
                )
            )
        checked[key] = item
    return checked


def unknown_key(table: VendorTable, key: str) -> Text:
    """``: unknown key 'regoin' in [tencent]: did you mean 'region'?``"""
    where = f"[{table.vendor}]"
    said = Text(f": unknown key {key!r} in {where}", f"：{where} 表里没有 {key!r} 这一项")
    if key in BY_TOML:  # in TOML a line belongs to the table above it
        return said + Text(
            f": {key} is a setting of its own; put it above the first table of the file",
            f"：{key} 是独立的设置，请写在文件里第一个表之前",
        )
    return said + table.unknown(key)


def _check_templates(table: VendorTable, value: Any, origin: Text) -> None:
    where = f"[{table.vendor}.templates]"
    if not isinstance(value, Mapping):
        raise ConfigError(
            origin
            + Text(
                f": {where} must be a table of template_id = 'code'",
                f"：{where} 必须是 模板号 = '模板代码' 的表",
            )
        )
    for key, code in value.items():
        if not isinstance(code, (str, int)) or isinstance(code, bool):
            raise ConfigError(
                origin
                + Text(
                    f': {where} {key} must be the vendor\'s template code in quotes, e.g. {key} = "SMS_1"',
                    f'：{where} 里 {key} 的值必须是服务商的模板代码（加引号），例如 {key} = "SMS_1"',
                )
            )
