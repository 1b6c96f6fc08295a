"""``smsworker dashboard``'s own setting errors answer in the reader's language, as every other."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from smsworker.cli import cli

CHINESE = {"LANG": "zh_CN.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
ENGLISH = {"LANG": "C", "LC_ALL": "", "LC_MESSAGES": ""}


@pytest.mark.parametrize(
    ("args", "english", "chinese"),
    [
        (["dashboard"], "needs dashboard_users_file", "需要 dashboard_users_file"),
        (["dashboard", "remove-user", "olga"], "no user 'olga' in", "里没有用户 'olga'"),
    ],
)
def test_dashboard_setting_errors_in_both_languages(
    tmp_path: Path, args: list[str], english: str, chinese: str
) -> None:
    users = tmp_path / "users"
    users.write_text("", encoding="utf-8")
    flags = ["--dashboard-users-file", str(users)] if "remove-user" in args else []
    env = {"SMSWORKER_REDIS_URL": "redis://127.0.0.1:1/0"}
    said_en = CliRunner().invoke(cli, [*args, *flags], env={**env, **ENGLISH})
    said_zh = CliRunner().invoke(cli, [*args, *flags], env={**env, **CHINESE})
    assert said_en.exit_code == said_zh.exit_code == 2, said_en.output
    assert english in said_en.output and "Error: " in said_en.output
    assert chinese in said_zh.output and "错误：" in said_zh.output  # noqa: RUF001
