"""``smsworker check`` against a real Redis says all is well in the reader's language."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.
from __future__ import annotations

import subprocess
from collections.abc import Callable

Cli = Callable[..., subprocess.CompletedProcess[str]]


def test_check_reports_redis_in_chinese_under_a_chinese_locale(cli: Cli) -> None:
    chinese = cli("check", LANG="zh_CN.UTF-8", LC_ALL="", LC_MESSAGES="")
    assert chinese.returncode == 0, chinese.stderr
    config, redis = chinese.stdout.splitlines()
    assert config == "配置无误：服务商 log，队列 sms_queue"
    assert redis.startswith("Redis 正常：redis://127.0.0.1:") and "（单机，Redis " in redis
    assert redis.endswith("取任务用 BLMOVE）")
    english = cli("check", LANG="C", LC_ALL="", LC_MESSAGES="")
    redis_en = english.stdout.splitlines()[1]
    assert redis_en.startswith("redis ok: redis://127.0.0.1:") and "(single server, Redis " in redis_en
