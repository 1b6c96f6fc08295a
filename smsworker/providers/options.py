"""Reading a provider's own settings table: required keys, defaults, and secrets from files."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from smsworker.config.values import http_url, seconds
from smsworker.errors import ConfigError
from smsworker.strict_json import is_text


class Section:
    """One provider's settings, e.g. ``[aliyun]`` in TOML or ``SMSWORKER_ALIYUN_*``."""

    def __init__(self, provider: str, values: Mapping[str, Any]) -> None:
        self.provider = provider
        self.values = values

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def text(self, key: str, default: str | None = None) -> str:
        value = self.values.get(key, default)
        if value is not None and not is_text(str(value)):
            raise ConfigError(f"invalid {self.provider}.{key}: must be valid UTF-8 text")
        if value is None or str(value).strip() == "":
            raise ConfigError(
                f"provider {self.provider!r} needs {self.provider}.{key}: set it in the [{self.provider}] "
                f"table of the config file or in SMSWORKER_{self.provider.upper()}_{key.upper()}"
            )
        return str(value).strip()

    def secret(self, key: str) -> str:
        """A secret given directly or, better, as ``<key>_file`` (e.g. a systemd credential)."""
        file_key = f"{key}_file"
        if self.values.get(file_key):
            path = Path(str(self.values[file_key]))
            try:
                secret = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"cannot read {self.provider}.{file_key} {path}: {exc.strerror}") from None
            if not secret:
                raise ConfigError(f"{self.provider}.{file_key} {path} is empty")
            return secret
        return self.text(key)

    def url(self, key: str) -> str:
        """An optional http(s) URL; "" when not set."""
        value = self.values.get(key)
        if value is None or str(value).strip() == "":
            return ""
        try:
            return http_url(value)
        except ValueError as exc:
            raise ConfigError(f"invalid {self.provider}.{key}: {exc}") from None

    def seconds(self, key: str, default: float) -> float:
        """A duration: finite, above 0, at most an hour (a provider request longer is a fault)."""
        try:
            value: float = seconds(3600)(self.values.get(key, default))
        except ValueError as exc:
            raise ConfigError(f"invalid {self.provider}.{key}: {exc}") from None
        return value

    def templates(self) -> dict[str, str]:
        """template_id -> the vendor's template code; an id not in the table is used as is."""
        table = self.values.get("templates", {})
        if not isinstance(table, Mapping):
            raise ConfigError(f"invalid {self.provider}.templates: must be a table of id = 'code'")
        return {str(k): str(v) for k, v in table.items()}
