"""smsworker receipts as a real process: a signed report from the webhook reaches 'smsworker status'."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import requests

from tests.support.fake_sms_api import FakeSmsApi, Reply
from tests.support.processes import WorkerProcess
from tests.support.redis_server import free_port
from tests.support.reports import signed_headers

Cli = Callable[..., subprocess.CompletedProcess[str]]
Start = Callable[..., WorkerProcess]
SECRET = "a-long-random-secret-for-the-test"


def start_receiver(start_worker: Start, tmp_path: Path, *flags: str) -> int:
    """``smsworker receipts`` taking the webhook's reports signed with SECRET; its port."""
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    port = free_port()
    flags = ("--receipts-port", str(port), "--http-report-secret-file", str(secret_file), *flags)
    receiver = start_worker(*flags, command="receipts")
    receiver.wait_for_event("receipts.listening")
    return port


def test_a_webhook_report_moves_the_status_shown_by_the_cli(
    cli: Cli, start_worker: Start, fake_api: FakeSmsApi, tmp_path: Path
) -> None:
    fake_api.script("+8613800138000", Reply(200, body='{"message_id": "hook-77"}'))
    cli("enqueue", "--template-id", "1", "--mobile", "13800138000", "--content", "x", "--id", "order-9")
    assert cli("drain", "--provider", "http", "--http-url", fake_api.url).returncode == 0
    port = start_receiver(start_worker, tmp_path)
    body = json.dumps([{"message_id": "hook-77", "mobile": "+8613800138000", "status": "delivered"}]).encode()
    headers = signed_headers(body, SECRET.encode())
    url = f"http://127.0.0.1:{port}/http"
    assert (
        requests.post(url, data=body, headers={**headers, "X-Smsworker-Signature": "sha256=0"}).status_code
        == 403
    )
    answer = requests.post(url, data=body, headers=headers, timeout=10)
    assert answer.status_code == 200 and answer.json() == {"delivered": 1}
    shown = json.loads(cli("status", "--id", "order-9", "--json").stdout)
    assert shown["+8613800138000"]["state"] == "delivered"
    assert shown["+8613800138000"]["message_id"] == "hook-77"
    assert [h["state"] for h in shown["+8613800138000"]["history"]] == ["sent"]
    assert "delivered" in cli("stats").stdout


def test_without_a_secret_or_a_free_port_it_says_so_in_one_line(cli: Cli, tmp_path: Path) -> None:
    missing = cli("receipts")
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    assert "http_report_secret_file" in missing.stderr
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = cli("receipts", "--receipts-port", str(port), "--http-report-secret-file", str(secret_file))
    assert busy.returncode == 1 and "cannot listen on 127.0.0.1:" in busy.stderr
    assert "Traceback" not in busy.stderr and len(busy.stderr.strip().splitlines()) == 1


def test_an_undelivered_recipient_is_dead_lettered_and_replayed(
    cli: Cli, start_worker: Start, fake_api: FakeSmsApi, tmp_path: Path
) -> None:
    fake_api.script("+8613800138001", Reply(200, body='{"message_id": "hook-88"}'))
    cli("enqueue", "--template-id", "1", "--mobile", "13800138001", "--content", "x", "--id", "order-10")
    flags = ("--provider", "http", "--http-url", fake_api.url, "--dead-letter-undelivered")
    assert cli("drain", *flags).returncode == 0
    port = start_receiver(start_worker, tmp_path, "--dead-letter-undelivered")
    body = json.dumps(
        [
            {
                "message_id": "hook-88",
                "mobile": "+8613800138001",
                "status": "undelivered",
                "code": "EXPIRED",
                "text": "phone off",
            }
        ]
    ).encode()
    headers = signed_headers(body, SECRET.encode())
    assert requests.post(f"http://127.0.0.1:{port}/http", data=body, headers=headers, timeout=10).ok
    [envelope] = json.loads(cli("dlq", "list", "--json").stdout)
    assert (envelope["reason"], envelope["provider_code"], envelope["failed_mobiles"]) == (
        "undelivered",
        "EXPIRED",
        ["13800138001"],
    )
    assert cli("dlq", "replay", "--reason", "undelivered").returncode == 0
    before = len(fake_api.requests)
    assert cli("drain", *flags).returncode == 0
    assert len(fake_api.requests) == before + 1  # sent again, under the same id
    assert json.loads(cli("status", "--id", "order-10", "--json").stdout)["+8613800138001"]["state"] == "sent"


def test_slow_clients_hold_no_thread(cli: Cli, start_worker: Start, tmp_path: Path) -> None:
    """Twenty connections that send half a request and stall (more than the 8 serving threads) do
    not keep a real report from being answered: waitress buffers requests before the app sees them."""
    port = start_receiver(start_worker, tmp_path)
    stalled = []
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b'POST /http HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n[{"message_id"')
        stalled.append(sock)
    try:
        body = json.dumps(
            [{"message_id": "m-404", "mobile": "+8613800138000", "status": "delivered"}]
        ).encode()
        headers = signed_headers(body, SECRET.encode())
        started = time.monotonic()
        answer = requests.post(f"http://127.0.0.1:{port}/http", data=body, headers=headers, timeout=10)
        assert answer.status_code == 200 and answer.json() == {"held": 1}  # unknown yet: held
        assert time.monotonic() - started < 5
    finally:
        for sock in stalled:
            sock.close()


def test_a_body_of_exactly_one_mib_is_read_and_one_byte_more_is_refused(
    start_worker: Start, tmp_path: Path
) -> None:
    from smsworker.receiver.app import MAX_BODY

    port = start_receiver(start_worker, tmp_path)
    report = json.dumps([{"message_id": "m-1", "mobile": "+8613800138000", "status": "delivered"}])
    exactly = (report[:-1] + " " * (MAX_BODY - len(report)) + "]").encode()
    assert len(exactly) == MAX_BODY == 1024 * 1024
    url = f"http://127.0.0.1:{port}/http"
    answer = requests.post(url, data=exactly, headers=signed_headers(exactly, SECRET.encode()), timeout=30)
    assert answer.status_code == 200 and answer.json() == {"held": 1}  # read, and held for its task
    over = exactly[:-1] + b" ]"
    refused = requests.post(url, data=over, headers=signed_headers(over, SECRET.encode()), timeout=30)
    assert refused.status_code == 413
