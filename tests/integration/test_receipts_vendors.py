"""Each vendor end to end with real processes: `drain` sends through the vendor's fake, the fake
pushes its delivery reports to `smsworker receipts` in its own format, and `smsworker status`
shows what reached each phone."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
import requests

from smsworker.store.keys import Keys
from tests.integration.test_vendors_end_to_end import settings as vendor_settings
from tests.support.fake_vendors import FakeAliyun, FakeTencent, FakeTwilio, FakeVendor
from tests.support.processes import WorkerProcess
from tests.support.redis_server import free_port
from tests.support.waiting import wait_until

Cli = Callable[..., subprocess.CompletedProcess[str]]
Start = Callable[..., WorkerProcess]
TOKEN = "vendor-path-token-0123456789"
A, B = "+8613800138000", "+8613800138001"
ANSWERS = {
    "aliyun": (200, {"code": 0, "msg": "接收成功"}),
    "tencent": (200, {"result": 0, "errmsg": "OK"}),
    "twilio": (204, None),
}


FAKES: dict[str, type[FakeVendor]] = {"aliyun": FakeAliyun, "tencent": FakeTencent, "twilio": FakeTwilio}


def receiving(vendor: str, fake: FakeVendor, tmp_path: Path) -> tuple[int, str, Path, dict[str, str]]:
    """A free port for the receiver, the URL ``vendor`` reports to there, the file of its path
    token, and the settings that send through ``fake`` (for Twilio, asking for status callbacks to
    that URL, which is also what the receiver checks their signatures against)."""
    port = free_port()
    route = f"http://127.0.0.1:{port}/" + ("twilio" if vendor == "twilio" else f"{vendor}/{TOKEN}")
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    env = vendor_settings(vendor, fake, tmp_path / "secret")
    if vendor == "twilio":
        env["SMSWORKER_TWILIO_STATUS_CALLBACK_URL"] = route
    return port, route, token_file, env


@pytest.mark.parametrize("vendor", ["aliyun", "tencent", "twilio"])
def test_the_vendors_reports_reach_smsworker_status(
    vendor: str, cli: Cli, start_worker: Start, tmp_path: Path
) -> None:
    with FAKES[vendor]() as fake:
        port, route, token_file, env = receiving(vendor, fake, tmp_path)
        cli(
            "enqueue",
            "--template-id",
            "1",
            "--mobile",
            "13800138000",
            "--mobile",
            "13800138001",
            "--content",
            "x",
            "--id",
            "order-7",
        )
        queued = json.loads(cli("status", "--id", "order-7", "--json").stdout)
        assert {n: s["state"] for n, s in queued.items()} == {
            "13800138000": "queued",
            "13800138001": "queued",
        }
        assert cli("drain", **env).returncode == 0
        assert sorted(fake.delivered) == [A, B]
        if vendor == "twilio":
            assert fake.status_callbacks() == {route}
        metrics_port = free_port()
        flags = [
            "--receipts-port",
            str(port),
            "--receipts-path-token-file",
            str(token_file),
            "--receipts-metrics-port",
            str(metrics_port),
        ]
        receiver = start_worker(*flags, command="receipts", **env)
        receiver.wait_for_event("receipts.listening")
        for _ in range(2):  # vendors push again when unsure: the second time changes nothing
            answers = fake.push_reports(route, failed={B})
            expected_status, expected_body = ANSWERS[vendor]
            assert {a.status_code for a in answers} == {expected_status}
            if expected_body is not None:
                assert {json.dumps(a.json(), sort_keys=True) for a in answers} == {
                    json.dumps(expected_body, sort_keys=True)
                }
        # A report for an id nothing is known of (another system's, an expired one, or one whose
        # task has not settled yet): answered as a success (the vendor would only push it again),
        # held for its task, counted as unmatched once the hold is over; not an error.
        [stranger] = fake.post_reports(route, [("+8613900000000", "someone-elses-id", True)])
        assert stranger.status_code == ANSWERS[vendor][0]
    stats = " ".join(cli("stats").stdout.split())
    assert "held_reports 1" in stats and "unmatched_reports 0" in stats
    shown = json.loads(cli("status", "--id", "order-7", "--json").stdout)
    assert shown[A]["state"] == "delivered" and shown[A]["message_id"] == fake.message_ids[A]
    assert shown[B]["state"] == "undelivered" and shown[B]["code"] in ("MK:0001", "MN:0001", "30003")
    assert "awaiting_receipt  0" in cli("stats").stdout
    by_number = cli("status", "--mobile", "138 0013 8001")  # as a person types it
    assert by_number.returncode == 0 and by_number.stdout.split()[:3] == ["order-7", B, "undelivered"]
    scraped = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    for state, count in (("delivered", 1), ("undelivered", 1), ("duplicate", 2)):
        assert f'smsworker_receipts_total{{provider="{vendor}",state="{state}"}} {count}.0' in scraped
    assert f'smsworker_receipt_delivery_seconds_count{{provider="{vendor}"}} 1.0' in scraped
    log = receiver.log_path.read_text()
    assert log.count('"receipt.delivered"') == 1 and log.count('"receipt.undelivered"') == 1
    assert "13800138000" not in log  # numbers masked


def test_without_a_report_source_it_says_which_settings_would_make_one(cli: Cli) -> None:
    result = cli("receipts")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    for setting in ("http_report_secret_file", "receipts_path_token_file", "twilio.status_callback_url"):
        assert setting in result.stderr


def test_a_path_token_that_cannot_be_in_a_url_is_refused(cli: Cli, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("a token with spaces in it/")
    result = cli("receipts", "--receipts-path-token-file", str(token_file))
    assert result.returncode == 2 and "receipts_path_token_file" in result.stderr
    assert "a token with spaces" not in result.stderr  # never echo a secret


@pytest.mark.parametrize("vendor", ["aliyun", "tencent"])
def test_pulled_reports_reach_smsworker_status_without_any_endpoint(
    vendor: str, cli: Cli, start_worker: Start, tmp_path: Path
) -> None:
    """For a deployment the vendor cannot reach: `receipts --receipts-pull` asks the vendor's API
    (signed, like the sends) and listens on nothing."""
    fake_class = {"aliyun": FakeAliyun, "tencent": FakeTencent}[vendor]
    with fake_class() as fake:
        env = vendor_settings(vendor, fake, tmp_path / "secret")
        cli(
            "enqueue",
            "--template-id",
            "1",
            "--mobile",
            "13800138000",
            "--mobile",
            "13800138001",
            "--content",
            "x",
            "--id",
            "order-8",
        )
        assert cli("drain", **env).returncode == 0
        assert "awaiting_receipt  2" in cli("stats").stdout
        fake.undeliverable.add(B)
        receiver = start_worker(
            "--receipts-pull",
            vendor,
            "--receipts-pull-after",
            "0",
            "--receipts-pull-every",
            "0.2",
            command="receipts",
            **env,
        )
        receiver.wait_for_event("receipts.pulling")

        def settled() -> dict[str, Any]:
            shown: dict[str, Any] = json.loads(cli("status", "--id", "order-8", "--json").stdout)
            return shown if all(s["state"] != "sent" for s in shown.values()) else {}

        shown = wait_until(settled, timeout_s=30, what="both reports pulled", every_s=0.3)
        assert fake.rejections == [] and fake.pulls
    assert shown[A]["state"] == "delivered" and shown[B]["state"] == "undelivered"
    assert "awaiting_receipt  0" in cli("stats").stdout
    assert "receipts.listening" not in receiver.log_path.read_text()  # no port opened
    receiver.process.send_signal(signal.SIGTERM)
    assert receiver.process.wait(timeout=10) == 0
    assert '"receipts.stopped"' in receiver.log_path.read_text()


def test_status_wants_one_of_id_and_mobile_and_a_valid_number(cli: Cli) -> None:
    for args in ((), ("--id", "x", "--mobile", "13800138000"), ("--mobile", "12")):
        result = cli("status", *args)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    unknown = cli("status", "--mobile", "13800138000")
    assert unknown.returncode == 1 and "nothing known of +8613800138000" in unknown.stderr


def test_a_burst_of_reports_is_held_without_loss(
    cli: Cli, redis_url: str, start_worker: Start, tmp_path: Path
) -> None:
    """500 reports at once, from 25 clients, to a real receiver, all for one task (so every one
    contends for its status hash and may have to retry): every one applied, none lost."""
    client = redis.Redis.from_url(redis_url)
    keys = Keys("sms_queue", "{sms_queue}:dead")
    numbers = [f"+86139{n:08d}" for n in range(500)]
    for n, number in enumerate(numbers):
        record = json.dumps({"id": "burst", "number": number, "at": 1.0})
        client.set(keys.receipt("tencent", f"sn-{n}", number), record)
        client.hset(
            keys.status("burst"), number, json.dumps({"state": "sent", "at": 1.0, "provider": "tencent"})
        )
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    port = free_port()
    receiver = start_worker(
        "--receipts-port", str(port), "--receipts-path-token-file", str(token_file), command="receipts"
    )
    receiver.wait_for_event("receipts.listening")
    url = f"http://127.0.0.1:{port}/tencent/{TOKEN}"

    def push(n: int) -> int:
        report = [
            {
                "user_receive_time": "2026-11-21 10:00:05",
                "nationcode": "86",
                "mobile": numbers[n][3:],
                "report_status": "SUCCESS",
                "errmsg": "DELIVRD",
                "description": "ok",
                "sid": f"sn-{n}",
            }
        ]
        return requests.post(url, json=report, timeout=30).status_code

    with ThreadPoolExecutor(25) as pool:
        answers = list(pool.map(push, range(500)))
    assert answers == [200] * 500
    stats = " ".join(cli("stats").stdout.split())
    assert "delivered_total 500" in stats and "unmatched_reports 0" in stats
    shown = json.loads(cli("status", "--id", "burst", "--json").stdout)
    assert {state["state"] for state in shown.values()} == {"delivered"} and len(shown) == 500


@pytest.mark.parametrize("vendor", ["aliyun", "tencent", "twilio"])
def test_a_report_that_comes_before_its_task_settles_is_applied_when_it_does(
    vendor: str, cli: Cli, start_worker: Start, tmp_path: Path
) -> None:
    """Each number is reported before the request that sent it is even answered, and the task's
    second request is slow (Twilio sends one number a request): every report arrives while its task
    is still being sent, is held, and is applied once the task settles."""
    with FAKES[vendor]() as fake:
        port, route, token_file, env = receiving(vendor, fake, tmp_path)
        receiver = start_worker(
            "--receipts-port",
            str(port),
            "--receipts-path-token-file",
            str(token_file),
            command="receipts",
            **env,
        )
        receiver.wait_for_event("receipts.listening")
        fake.report_at_once, fake.slow = route, {B: 2.0}
        cli(
            "enqueue",
            "--template-id",
            "1",
            "--mobile",
            "13800138000",
            "--mobile",
            "13800138001",
            "--content",
            "x",
            "--id",
            "order-9",
        )
        assert cli("drain", "--http-batch-size", "1", **env).returncode == 0
    assert receiver.events("receipt.held")  # they did come first

    def applied() -> dict[str, Any]:
        shown: dict[str, Any] = json.loads(cli("status", "--id", "order-9", "--json").stdout)
        return shown if {s["state"] for s in shown.values()} == {"delivered"} else {}

    shown = wait_until(applied, timeout_s=20, what="the held reports applied", every_s=0.2)
    assert [h["state"] for h in shown[A]["history"]] == ["sent"]  # sent, then delivered: in order
    stats = " ".join(cli("stats").stdout.split())
    assert "delivered_total 2" in stats and "unmatched_reports 0" in stats and "held_reports 0" in stats
