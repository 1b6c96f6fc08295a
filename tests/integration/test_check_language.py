"""``smsworker check`` answers in the reader's language: with ``LANG=zh_CN.UTF-8`` a bad setting is
refused in Chinese, with no English sentence left but the names and values it quotes; with
``LANG=C`` in English. Run as a user runs it: the installed command, in a process of its own (so
these are integration tests: each one starts a Python)."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SMSWORKER = str(Path(sys.executable).parent / "smsworker")
# What a Chinese message may quote in Latin letters: a name or a value (quoted, a key, an
# environment variable, a path, a flag, a program's name), never two English words in a row.
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`|\[[^\]]*\]|\S*[=/_.$<>:-]\S*|\b[A-Z][A-Z0-9_]+\b")
ENGLISH_WORDS = re.compile(r"\b[A-Za-z]{2,}\s+[A-Za-z]{2,}\b")

CASES = {
    "a value that is not a number": ({"SMSWORKER_CONCURRENCY": "abc"}, ""),
    "a typo in a vendor's table": ({}, '[tencent]\nregoin = "ap-beijing"\n'),
    "a typo at the top of the file": ({}, 'http_header = ["X-Token: a"]\n'),
    "a missing vendor secret": (
        {"SMSWORKER_ALIYUN_ACCESS_KEY_ID": "LTAI", "SMSWORKER_ALIYUN_SIGN_NAME": "Shop"},
        'provider = "aliyun"\n',
    ),
    "a provider that does not exist": ({"SMSWORKER_PROVIDER": "aliyn"}, ""),
    "a config file that is not there": ({"SMSWORKER_CONFIG": "/nonexistent/smsworker.toml"}, None),
    "a config file that is not TOML": ({}, "provider = aliyun\n"),
}


def check(
    tmp_path: Path, lang: str, environ: dict[str, str], config: str | None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSWORKER_", "LC_"))}
    env.update(environ, LANG=lang)
    args = [SMSWORKER, "check", "--no-redis"]
    if config is not None:
        (tmp_path / "smsworker.toml").write_text(config, encoding="utf-8")
        args += ["--config", str(tmp_path / "smsworker.toml")]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=60, check=False)


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_setting_is_refused_in_chinese_when_the_locale_is_chinese(tmp_path: Path, case: str) -> None:
    result = check(tmp_path, "zh_CN.UTF-8", *CASES[case])
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("错误：") and has_cjk(line) and "Traceback" not in result.stderr
    assert not ENGLISH_WORDS.search(QUOTED.sub(" ", line)), line


@pytest.mark.parametrize("case", list(CASES))
def test_the_same_is_refused_in_english_when_the_locale_is_not(tmp_path: Path, case: str) -> None:
    result = check(tmp_path, "C", *CASES[case])
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: ") and not has_cjk(line.replace("【", "")), line


def test_the_bad_number_reads_as_the_reader_expects(tmp_path: Path) -> None:
    environ, config = CASES["a value that is not a number"]
    assert check(tmp_path, "C", environ, config).stderr == (
        "Error: invalid concurrency 'abc' (from environment SMSWORKER_CONCURRENCY): must be an integer\n"
    )
    assert check(tmp_path, "zh_CN.UTF-8", environ, config).stderr == (
        "错误：concurrency 的值 'abc' 无效（来自环境变量 SMSWORKER_CONCURRENCY）：必须是整数\n"
    )


def test_check_says_all_is_well_in_the_readers_language(tmp_path: Path) -> None:
    chinese = check(tmp_path, "zh_CN.UTF-8", {}, None)
    assert chinese.returncode == 0 and chinese.stdout == "配置无误：服务商 log，队列 sms_queue\n"
    english = check(tmp_path, "C", {}, None)
    assert english.returncode == 0 and english.stdout == "config ok: provider log, queue sms_queue\n"
