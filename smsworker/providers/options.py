"""Reading a vendor's own settings table as ``config/vendors.py`` declares it: required keys (all the
missing ones named at once), defaults, choices, and secrets from files."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smsworker.config.addresses import http_url
from smsworker.config.messages import NOT_UTF8, cannot_read, did_you_mean, os_reason, reason
from smsworker.config.values import seconds
from smsworker.config.vendors import TABLES, VendorTable
from smsworker.errors import ConfigError
from smsworker.language import Text
from smsworker.strict_json import is_text


class Section:
    """One provider's settings, e.g. ``[aliyun]`` in TOML or ``SMSWORKER_ALIYUN_*``."""

    def __init__(self, provider: str, values: Mapping[str, Any]) -> None:
        self.provider = provider
        self.table: VendorTable = TABLES[provider]
        self.values = values

    def require(self) -> None:
        """``ConfigError`` naming every required key that is not set, in one line."""
        given = [key for key, value in self.values.items() if str(value).strip()]
        missing = self.table.missing(given)
        if missing:
            raise ConfigError(self.table.needs(missing))

    def get(self, key: str) -> Any:
        return self.values.get(key, self.table.key(key).default)

    def text(self, key: str) -> str:
        value = self.get(key)
        if value is not None and not is_text(str(value)):
            raise self._invalid(key, Text("must be valid UTF-8 text", "必须是有效的 UTF-8 文本"))
        if value is None or str(value).strip() == "":
            raise ConfigError(self.table.needs([key]))
        chosen = str(value).strip()
        choices = self.table.key(key).choices
        if choices and chosen not in choices:
            known = ", ".join(choices)
            why = Text(f"must be one of {known}", f"必须是 {known} 之一") + did_you_mean(chosen, choices)
            raise self._invalid(key, why)
        return chosen

    def secret(self, key: str) -> str:
        """The secret from ``<key>_file`` (where a systemd credential also lands), else ``key``."""
        file_key = f"{key}_file"
        if not self.values.get(file_key):
            return self.text(key)
        path = Path(str(self.values[file_key]))
        what = f"{self.provider}.{file_key}"
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(cannot_read(what, path, os_reason(exc))) from None
        except UnicodeDecodeError:
            raise ConfigError(cannot_read(what, path, NOT_UTF8)) from None
        if not secret:
            raise ConfigError(Text(f"{what} {path} is empty", f"{what} {path} 是空文件"))
        return secret

    def url(self, key: str) -> str:
        """An optional http(s) URL; "" when not set."""
        value = self.values.get(key)
        if value is None or str(value).strip() == "":
            return ""
        try:
            return http_url(value)
        except ValueError as exc:
            raise self._invalid(key, reason(exc)) from None

    def seconds(self, key: str) -> float:
        """A duration: finite, above 0, at most an hour (a provider request longer is a fault)."""
        try:
            value: float = seconds(3600)(self.get(key))
        except ValueError as exc:
            raise self._invalid(key, reason(exc)) from None
        return value

    def templates(self) -> dict[str, str]:
        """template_id -> the vendor's template code; an id not in the table is used as is."""
        table = self.values.get("templates", {})
        if not isinstance(table, Mapping):
            why = Text("must be a table of id = 'code'", "必须是 模板号 = '模板代码' 的表")
            raise self._invalid("templates", why)
        return {str(k): str(v) for k, v in table.items()}

    def _invalid(self, key: str, why: Text) -> ConfigError:
        name = f"{self.provider}.{key}"
        return ConfigError(Text(f"invalid {name}: ", f"{name} 的值无效：") + why)
