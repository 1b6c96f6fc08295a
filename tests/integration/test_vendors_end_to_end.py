"""The seed's task through `smsworker drain --provider <vendor>` to a fake that checks the signature."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_vendors import FakeAliyun, FakeTencent, FakeTwilio, FakeVendor
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until

Cli = Callable[..., subprocess.CompletedProcess[str]]
SEED = '{"template_id":123,"mobiles":["13800138000","13800138001"],"content":"Test SMS"}'


def settings(vendor: str, fake: FakeVendor, secret_file: Path) -> dict[str, str]:
    prefix = f"SMSWORKER_{vendor.upper()}_"
    common = {"SMSWORKER_PROVIDER": vendor, prefix + "BASE_URL": fake.base_url}
    if vendor == "aliyun":
        secret_file.write_text("test-secret\n")
        return {
            **common,
            prefix + "ACCESS_KEY_ID": "test-key",
            prefix + "ACCESS_KEY_SECRET_FILE": str(secret_file),
            prefix + "SIGN_NAME": "Shop",
        }
    if vendor == "tencent":
        secret_file.write_text("tencent-secret\n")
        return {
            **common,
            prefix + "SECRET_ID": "AKIDtest",
            prefix + "SECRET_KEY_FILE": str(secret_file),
            prefix + "SDK_APP_ID": "1400000000",
            prefix + "SIGN_NAME": "Shop",
        }
    secret_file.write_text("twilio-token\n")
    return {
        **common,
        prefix + "ACCOUNT_SID": "ACtest",
        prefix + "AUTH_TOKEN_FILE": str(secret_file),
        prefix + "FROM": "+15005550006",
    }


@pytest.mark.parametrize("vendor", ["aliyun", "tencent", "twilio"])
def test_seed_task_reaches_the_vendor_signed(
    vendor: str, cli: Cli, redis_server: RedisServer, tmp_path: Path
) -> None:
    fake_class = {"aliyun": FakeAliyun, "tencent": FakeTencent, "twilio": FakeTwilio}[vendor]
    with fake_class() as fake:
        redis_server.client().lpush("sms_queue", SEED)
        result = cli("drain", "--log-level", "debug", **settings(vendor, fake, tmp_path / "secret"))
        assert result.returncode == 0, result.stderr
        assert fake.rejections == []
        assert sorted(fake.delivered) == ["+8613800138000", "+8613800138001"]
    assert "(2 recipients: 2 sent, 0 dead-lettered)" in result.stdout
    assert '"provider.accepted"' in result.stderr  # the vendor's receipt, for reconciliation
    secret = (tmp_path / "secret").read_text().strip()
    assert secret not in result.stderr and secret not in result.stdout
    # one request for both numbers where the vendor batches, one each for twilio
    assert len(fake.requests) == (2 if vendor == "twilio" else 1)


def test_missing_vendor_settings_are_one_clear_line(cli: Cli) -> None:
    result = cli("check", SMSWORKER_PROVIDER="tencent")
    assert result.returncode == 2
    assert result.stderr.startswith(
        "Error: provider 'tencent' needs tencent.secret_id, tencent.secret_key, tencent.sdk_app_id and "
        "tencent.sign_name: set them in the [tencent]"
    )


def test_failover_chain_moves_recipients_to_the_second_provider(
    cli: Cli, redis_server: RedisServer, tmp_path: Path
) -> None:
    with FakeAliyun() as aliyun, FakeTencent() as tencent:
        aliyun.script("13800138000", "isv.AMOUNT_NOT_ENOUGH")  # the account's fault: fail over
        redis_server.client().lpush("sms_queue", SEED)
        env = {**settings("aliyun", aliyun, tmp_path / "a"), **settings("tencent", tencent, tmp_path / "t")}
        result = cli("drain", "--provider", "aliyun,tencent", **env)
        assert result.returncode == 0, result.stderr
    assert aliyun.delivered == []
    assert sorted(tencent.delivered) == ["+8613800138000", "+8613800138001"]
    assert '"provider.failover"' in result.stderr


def test_recipient_faults_do_not_fail_over(cli: Cli, redis_server: RedisServer, tmp_path: Path) -> None:
    with FakeAliyun() as aliyun, FakeTencent() as tencent:
        aliyun.script("13800138000", "isv.MOBILE_NUMBER_ILLEGAL")
        redis_server.client().lpush("sms_queue", SEED)
        env = {**settings("aliyun", aliyun, tmp_path / "a"), **settings("tencent", tencent, tmp_path / "t")}
        result = cli("drain", "--provider", "aliyun,tencent", **env)
        assert result.returncode == 0, result.stderr
    assert tencent.requests == []
    dead = redis_server.client().lrange("{sms_queue}:dead", 0, -1)
    assert [json.loads(e)["provider_code"] for e in dead] == ["isv.MOBILE_NUMBER_ILLEGAL"]


def test_run_daemon_sends_through_aliyun(
    start_worker: Callable[..., Any], redis_server: RedisServer, tmp_path: Path
) -> None:
    with FakeAliyun() as fake:
        worker = start_worker(**settings("aliyun", fake, tmp_path / "secret"))
        worker.wait_for_event("worker.started")
        redis_server.client().lpush("sms_queue", SEED)
        wait_until(lambda: len(fake.delivered) == 2, what="the seed's two recipients at the fake")
        worker.send(signal.SIGTERM)
        assert worker.wait(timeout_s=15) == 0
        assert fake.rejections == []
    [summary] = worker.events("task.settled")
    assert (summary["sent"], summary["segments"]) == (2, 2)
