"""The vendors' own tables: ``[aliyun]``, ``[tencent]``, ``[twilio]`` in the TOML file,
``SMSWORKER_<VENDOR>_<KEY>`` in the environment. Each key is declared once here (required or its
default, secret or not); the loader refuses any other key, and ``providers/options.py`` reads them.

A secret key ``k`` may come, best first, from ``k_file`` (a file only smsworker's user can read), from
the systemd credential ``<vendor>_k`` (``LoadCredential=``, found in ``$CREDENTIALS_DIRECTORY``),
or from ``k`` itself in the table or the environment.
"""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from smsworker.config import values
from smsworker.config.declare import ENV_PREFIX
from smsworker.config.messages import did_you_mean, listing
from smsworker.language import Text


@dataclass(frozen=True)
class VendorKey:
    """One key of a vendor's table. ``unless``: required unless that other key is set."""

    name: str
    required: bool = False
    default: Any = None
    secret: bool = False
    unless: str = ""
    # A table of its own (template_id = "vendor code"), whose keys are the user's.
    table: bool = False
    # The values it may take, when it is a choice.
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class VendorTable:
    vendor: str
    keys: tuple[VendorKey, ...]

    @property
    def accepted(self) -> tuple[str, ...]:
        """Every key the table may hold: the declared ones, and ``<key>_file`` for each secret."""
        return tuple(k.name for k in self.keys) + tuple(f"{k.name}_file" for k in self.keys if k.secret)

    def key(self, name: str) -> VendorKey:
        return next(k for k in self.keys if k.name == name)

    def env(self, key: str) -> str:
        return f"{ENV_PREFIX}{self.vendor.upper()}_{key.upper()}"

    def credential(self, key: str) -> str:
        """The systemd credential the loader takes as ``<key>_file``."""
        return f"{self.vendor}_{key}"

    @property
    def credentials(self) -> tuple[str, ...]:
        return tuple(self.credential(k.name) for k in self.keys if k.secret)

    def missing(self, given: Iterable[str]) -> list[str]:
        """The required keys that ``given`` (the keys set, with a value) lacks, in declared order."""
        have = set(given)
        return [
            k.name
            for k in self.keys
            if k.required
            and k.name not in have
            and not (k.secret and f"{k.name}_file" in have)
            and not (k.unless and k.unless in have)
        ]

    def needs(self, missing: list[str]) -> Text:
        """One line naming every key in ``missing``, and for a secret every place it may come from."""
        plain = [k for k in missing if not self.key(k).secret]
        secrets = [k for k in missing if self.key(k).secret]
        named = listing(self._shown(k) for k in missing)
        said = Text(f"provider {self.vendor!r} needs ", f"服务商 {self.vendor!r} 缺少 ") + named
        if plain:
            envs = listing(self.env(k) for k in plain)
            said += Text(
                f": set {'it' if len(plain) == 1 else 'them'} in the [{self.vendor}] table of the config "
                "file or in ",
                f"：请写在配置文件的 [{self.vendor}] 表里，或设置环境变量 ",
            )
            said += envs
        for key in secrets:
            said += self._secret_places(key, first=not plain)
        return said

    def _shown(self, key: str) -> Text:
        name = f"{self.vendor}.{key}"
        unless = self.key(key).unless
        if not unless:
            return Text.untranslated(name)
        return Text(f"{name} (or {self.vendor}.{unless})", f"{name}（或 {self.vendor}.{unless}）")

    def _secret_places(self, key: str, *, first: bool) -> Text:
        credential = self.credential(key)
        lead = Text(": best", "：") if first else Text(f"; for the secret {key}, best", f"；密钥 {key} ")
        return lead + Text(
            f' set {key}_file = "<a file only smsworker\'s user can read>" in [{self.vendor}], or the '
            f"systemd credential {credential} (LoadCredential={credential}:<file>, read from "
            f"$CREDENTIALS_DIRECTORY), or else {key} in [{self.vendor}] or {self.env(key)}",
            f'推荐在 [{self.vendor}] 表里写 {key}_file = "<只有 smsworker 的用户能读的文件>"；也可以用 '
            f"systemd 凭据 {credential}（LoadCredential={credential}:<文件>，从 $CREDENTIALS_DIRECTORY "
            f"读取）；最后才是 [{self.vendor}] 表里的 {key} 或环境变量 {self.env(key)}",
        )

    def unknown(self, key: str) -> Text:
        """Why ``key`` is refused in this table, with the declared key it is closest to."""
        close = did_you_mean(key, self.accepted)
        if close.en:
            return close
        known = ", ".join(self.accepted)
        return Text(f" (it takes {known})", f"（可以写的有 {known}）")


_TIMEOUT = VendorKey("timeout", default=10.0)
_TEMPLATES = VendorKey("templates", table=True)

TABLES = {
    table.vendor: table
    for table in (
        VendorTable(
            "aliyun",
            (
                VendorKey("access_key_id", required=True),
                VendorKey("access_key_secret", required=True, secret=True),
                VendorKey("sign_name", required=True),
                _TEMPLATES,
                VendorKey("base_url", default="https://dysmsapi.aliyuncs.com"),
                _TIMEOUT,
                VendorKey("content_param", default="content"),
                VendorKey("signature", default="v3", choices=("v3", "v1")),
            ),
        ),
        VendorTable(
            "tencent",
            (
                VendorKey("secret_id", required=True),
                VendorKey("secret_key", required=True, secret=True),
                VendorKey("sdk_app_id", required=True),
                VendorKey("sign_name", required=True),
                _TEMPLATES,
                VendorKey("region", default="ap-guangzhou"),
                VendorKey("base_url", default="https://sms.tencentcloudapi.com"),
                _TIMEOUT,
            ),
        ),
        VendorTable(
            "twilio",
            (
                VendorKey("account_sid", required=True),
                VendorKey("auth_token", required=True, secret=True),
                VendorKey("from", required=True, unless="messaging_service_sid"),
                VendorKey("messaging_service_sid"),
                VendorKey("status_callback_url"),
                VendorKey("base_url", default="https://api.twilio.com"),
                _TIMEOUT,
            ),
        ),
    )
}

# Every provider --provider takes: two without a table of their own, and the vendors'.
PROVIDER_NAMES = tuple(sorted(("http", "log", *TABLES)))


def provider_chain(value: Any) -> str:
    """A provider (``aliyun``) or a failover chain (``aliyun,tencent``) of known providers."""
    chain = values.nonempty(value).lower()
    names = [name.strip() for name in chain.split(",") if name.strip()]
    known = ", ".join(PROVIDER_NAMES)
    unknown = [name for name in names if name not in PROVIDER_NAMES]
    if unknown or not names:
        name = unknown[0] if unknown else chain
        said = Text(f"{name!r} is not a provider", f"没有 {name!r} 这个服务商")
        raise ValueError(
            said
            + did_you_mean(name, PROVIDER_NAMES)
            + Text(
                f" (choose one of {known}; several, separated by commas, make a failover chain)",
                f"（可选 {known}；用逗号隔开写几个即为故障转移链）",
            )
        )
    return chain
