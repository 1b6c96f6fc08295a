"""A vendor's missing settings are named all at once, and a missing secret names every place it may
come from, best first: the ``<key>_file`` setting, the systemd credential, then the table or the
environment. The units offer the credentials the code reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smsworker.config.schema import BY_NAME, SETTINGS
from smsworker.config.settings import load_settings
from smsworker.config.vendors import TABLES
from smsworker.errors import ConfigError
from smsworker.providers.registry import build_providers

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "systemd").glob("*.service"))
ZH = {"LANG": "zh_CN.UTF-8"}


def refused(vendor: str, environ: dict[str, str]) -> ConfigError:
    settings = load_settings({"provider": vendor}, environ)
    with pytest.raises(ConfigError) as info:
        build_providers(settings, None)
    assert "\n" not in str(info.value)
    return info.value


@pytest.mark.parametrize("vendor", list(TABLES))
def test_every_missing_key_of_a_vendor_is_named_in_one_message(vendor: str) -> None:
    table = TABLES[vendor]
    required = [key.name for key in table.keys if key.required]
    message = str(refused(vendor, {}))
    assert message.startswith(f"provider {vendor!r} needs ")
    for key in required:
        assert f"{vendor}.{key}" in message
    chinese = refused(vendor, {}).text.shown(ZH)
    assert all(f"{vendor}.{key}" in chinese for key in required) and "缺少" in chinese


SECRETS = [(table.vendor, key.name) for table in TABLES.values() for key in table.keys if key.secret]


@pytest.mark.parametrize(("name", "key"), SECRETS)
def test_a_missing_secret_names_its_file_setting_its_credential_then_the_table(name: str, key: str) -> None:
    vendor = TABLES[name]
    others = {vendor.env(k.name): "x" for k in vendor.keys if k.required and k.name != key}
    message = str(refused(vendor.vendor, others))
    places = [
        f"{key}_file = ",
        f"systemd credential {vendor.vendor}_{key} (LoadCredential={vendor.vendor}_{key}:",
        "$CREDENTIALS_DIRECTORY",
        f"{key} in [{vendor.vendor}]",
        vendor.env(key),
    ]
    found = [message.find(place) for place in places]
    assert -1 not in found and found == sorted(found), message


def test_the_credential_the_message_names_is_the_one_the_loader_reads(tmp_path: Path) -> None:
    for name, key in SECRETS:
        (tmp_path / TABLES[name].credential(key)).write_text(f"{name}-secret\n")
    environ = {"CREDENTIALS_DIRECTORY": str(tmp_path)}
    for table in TABLES.values():
        others = {table.env(k.name): "x" for k in table.keys if k.required and not k.secret}
        [provider] = build_providers(load_settings({"provider": table.vendor}, environ | others), None)
        provider.close()


@pytest.mark.parametrize("unit", UNITS, ids=[unit.name for unit in UNITS])
def test_every_unit_offers_the_redis_password_credential_the_code_reads(unit: Path) -> None:
    credential = BY_NAME["redis_password_file"].credential
    text = unit.read_text(encoding="utf-8")
    assert re.search(rf"^#LoadCredential={credential}:/etc/smsworker/credentials/{credential}$", text, re.M)


def test_every_credential_a_unit_names_is_one_the_code_reads() -> None:
    known = {s.credential for s in SETTINGS if s.credential}
    known |= {name for table in TABLES.values() for name in table.credentials}
    named = {
        name
        for unit in UNITS
        for name in re.findall(r"^#?LoadCredential=([^:]+):", unit.read_text(encoding="utf-8"), re.M)
    }
    assert named and named <= known, named - known
