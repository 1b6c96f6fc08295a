"""Nothing a config file says is ignored: a key no declaration names, at any level of the file (the
top, each vendor's table, a table inside one), is refused in one line naming the file, the table and
the key, with the declared name it is closest to. The same for the vendors' environment variables and
credentials, and for a provider name that does not exist."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsworker.cli import cli
from smsworker.config.schema import SETTINGS
from smsworker.config.settings import load_settings
from smsworker.config.vendors import PROVIDER_NAMES, TABLES
from smsworker.errors import ConfigError
from smsworker.providers.registry import FACTORIES

ZH = {"LANG": "zh_CN.UTF-8"}
ENGLISH: dict[str, str | None] = {"LANG": "C", "LC_ALL": None, "LC_MESSAGES": None, "SMSWORKER_CONFIG": None}
# Every table the loader reads, by its path in the file ("" is the top), with the keys it takes.
TABLE_KEYS = {"": tuple(s.toml for s in SETTINGS)} | {name: t.accepted for name, t in TABLES.items()}
TYPOS = [(table, key) for table, keys in TABLE_KEYS.items() for key in keys]


def refusal(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> ConfigError:
    path = tmp_path / "smsworker.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings({}, environ or {}, str(path))
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"config file {path}: "), message
    return info.value


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


@pytest.mark.parametrize(("table", "key"), TYPOS, ids=[f"[{t}].{k}" for t, k in TYPOS])
def test_a_key_one_letter_short_is_refused_with_the_key_it_misses(
    tmp_path: Path, table: str, key: str
) -> None:
    typo = key[:-1]  # http_header for http_headers, rate_limit for rate_limits, regio for region
    assert typo not in TABLE_KEYS[table]
    header = f"[{table}]\n" if table else ""
    error = refusal(tmp_path, f'{header}{typo} = "x"\n')
    assert f"{typo!r}" in str(error)
    assert str(error).endswith(f"did you mean {key!r}?")
    if table:
        assert f"unknown key {typo!r} in [{table}]" in str(error)
    chinese = error.text.shown(ZH)
    assert has_cjk(chinese) and f"是不是想写 {key!r}" in chinese and "unknown" not in chinese


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[tencent]\nregoin = "ap-beijing"\n', "unknown key 'regoin' in [tencent]: did you mean 'region'?"),
        (
            '[aliyun.tempaltes]\n123 = "SMS_1"\n',
            "unknown key 'tempaltes' in [aliyun]: did you mean 'templates'?",
        ),
        ('[aliyun]\nsignatur = "v1"\n', "unknown key 'signatur' in [aliyun]: did you mean 'signature'?"),
        ('[twilio]\nbase_uri = "http://x"\n', "unknown key 'base_uri' in [twilio]: did you mean 'base_url'?"),
        (
            '[aliyun]\nsign_name = "S"\nprovider = "aliyun"\n',
            "provider is a setting of its own; put it above",
        ),
        ('[aliyun.sign_name]\nx = "S"\n', "aliyun.sign_name takes one value (text or a number), not a table"),
        ("[aliyun.templates]\n123 = 1.5\n", "[aliyun.templates] 123 must be the vendor's template code"),
        ("[aliyun.templates.123]\nx = 1\n", "[aliyun.templates] 123 must be the vendor's template code"),
        (
            "[dashboard]\nport = 8091\n",
            "unknown table [dashboard]: settings are not grouped in tables; write ",
        ),
        ('[aliyn]\nsign_name = "S"\n', "unknown table [aliyn]: did you mean 'aliyun'?"),
        ('sign_name = "S"\n', "unknown setting 'sign_name': it belongs in the [aliyun] table"),
        ("rate-limit = ['500/s']\n", "unknown setting 'rate_limit': did you mean 'rate_limits'?"),
        ("zzzzzz = 1\n", "unknown setting 'zzzzzz' (the README's settings table lists every one"),
        ('aliyun = "x"\n', "[aliyun] must be a table"),
    ],
)
def test_what_a_nested_table_gets_wrong_is_named(tmp_path: Path, text: str, said: str) -> None:
    error = refusal(tmp_path, text)
    assert said in str(error)
    assert has_cjk(error.text.shown(ZH))


@pytest.mark.parametrize("vendor", list(TABLES))
def test_a_vendor_environment_variable_no_key_declares_is_refused(vendor: str) -> None:
    name = f"SMSWORKER_{vendor.upper()}_BASE_URI"
    with pytest.raises(ConfigError, match=f"environment {name}: unknown key 'base_uri' .* 'base_url'"):
        load_settings({}, {name: "http://127.0.0.1:1"})


def test_a_vendor_credential_that_is_no_secret_is_refused(tmp_path: Path) -> None:
    (tmp_path / "aliyun_acces_key_secret").write_text("s")
    with pytest.raises(
        ConfigError, match=r"credential aliyun_acces_key_secret: .*'aliyun_access_key_secret'"
    ):
        load_settings({}, {"CREDENTIALS_DIRECTORY": str(tmp_path)})


def test_every_provider_the_registry_builds_is_a_name_the_setting_takes() -> None:
    assert sorted(FACTORIES) == list(PROVIDER_NAMES)


@pytest.mark.parametrize("where", ["flag", "environment", "file"])
def test_a_provider_typo_is_refused_with_the_known_providers(tmp_path: Path, where: str) -> None:
    config = tmp_path / "c.toml"
    config.write_text('provider = "aliyun,tencnet"\n' if where == "file" else "")
    flags = {"provider": "aliyun,tencnet"} if where == "flag" else {}
    environ = {"SMSWORKER_PROVIDER": "aliyun,tencnet"} if where == "environment" else {}
    with pytest.raises(ConfigError) as info:
        load_settings(flags, environ, str(config))
    source = {"flag": "--provider", "environment": "environment SMSWORKER_PROVIDER", "file": "config file"}
    message = str(info.value)
    assert message.startswith(f"invalid provider 'aliyun,tencnet' (from {source[where]}")
    assert "'tencnet' is not a provider: did you mean 'tencent'?" in message
    assert f"choose one of {', '.join(PROVIDER_NAMES)}" in message
    assert "是不是想写 'tencent'" in info.value.text.shown(ZH)


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (JSON's escapes, but astral characters as themselves)."""
    escaped = "".join(f"\\u{ord(c):04x}" if ord(c) < 0x20 or c in '"\\\x7f' else c for c in text)
    return f'"{escaped}"'


# Keys no table declares: anything but the names the loader takes there ("-" reads as "_").
def _undeclared(table: str) -> st.SearchStrategy[str]:
    taken = set(TABLE_KEYS[table]) | ({*TABLES, "lanes"} if not table else set())
    text = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=20)
    return text.filter(lambda key: key.replace("-", "_") not in taken)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), table=st.sampled_from(list(TABLE_KEYS)))
def test_any_undeclared_key_at_any_level_is_one_line_and_exit_2(
    tmp_path: Path, data: st.DataObject, table: str
) -> None:
    key = data.draw(_undeclared(table))
    value = data.draw(st.one_of(st.integers(), st.booleans(), st.text(max_size=8)))
    header = f"[{table}]\n" if table else ""
    path = tmp_path / "fuzzed.toml"
    shown = toml_string(value) if isinstance(value, str) else json.dumps(value)
    path.write_text(f"{header}{toml_string(key)} = {shown}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", "--no-redis", "--config", str(path)], env=ENGLISH)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # not a traceback
    assert result.output.startswith(f"Error: config file {path}: unknown ")
    assert result.output.count("\n") == 1


def test_a_vendor_credential_a_file_setting_names_is_not_refused(tmp_path: Path) -> None:
    (tmp_path / "aliyun_key").write_text("s")
    (tmp_path / "tencent").write_text("s")  # the README's older example: no <vendor>_<key> name
    environ = {
        "CREDENTIALS_DIRECTORY": str(tmp_path),
        "SMSWORKER_ALIYUN_ACCESS_KEY_SECRET_FILE": str(tmp_path / "aliyun_key"),
    }
    settings = load_settings({}, environ)
    assert settings.provider_options == {"aliyun": {"access_key_secret_file": str(tmp_path / "aliyun_key")}}


ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = [
    *re.findall(r"```toml\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S),
    (ROOT / "systemd" / "smsworker.toml").read_text(encoding="utf-8"),
]


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_example_config_files_hold_only_keys_the_loader_takes(tmp_path: Path, example: str) -> None:
    path = tmp_path / "example.toml"
    path.write_text(example, encoding="utf-8")
    load_settings({}, {}, str(path))
