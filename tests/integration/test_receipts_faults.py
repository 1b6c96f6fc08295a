"""Redis stopped while reports come in, with real processes: nothing a vendor handed out is lost.

A push that comes while Redis is away gets 503 from Alibaba's and Tencent's routes, and those
vendors push again (here: the fake pushes again once Redis is back); Twilio, which does not call
again, gets its 204 and the report waits in the receiver until Redis takes it. A pull round
during which Redis goes away keeps what Tencent handed out and writes it when Redis is back, and
pulls nothing while Redis is away; Alibaba's report, not written, is asked for again.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_receipts_vendors import FAKES, receiving
from tests.integration.test_vendors_end_to_end import settings as vendor_settings
from tests.support.processes import WorkerProcess
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait_until

Cli = Callable[..., subprocess.CompletedProcess[str]]
Start = Callable[..., WorkerProcess]
A, B = "+8613800138000", "+8613800138001"


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, kept on disk, so that it can be stopped and started again."""
    server = RedisServer(tmp_path / "redis", appendonly=True)
    server.start()
    yield server
    server.stop()


def sent(cli: Cli, url: str, env: dict[str, str], task_id: str) -> None:
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
        task_id,
        SMSWORKER_REDIS_URL=url,
    )
    assert cli("drain", SMSWORKER_REDIS_URL=url, **env).returncode == 0


def states(cli: Cli, url: str, task_id: str) -> dict[str, str]:
    shown: dict[str, Any] = json.loads(
        cli("status", "--id", task_id, "--json", SMSWORKER_REDIS_URL=url).stdout
    )
    return {number: state["state"] for number, state in shown.items()}


@pytest.mark.parametrize("vendor", ["aliyun", "tencent", "twilio"])
def test_reports_pushed_while_redis_is_away_all_land(
    vendor: str, cli: Cli, start_worker: Start, own_redis: RedisServer, tmp_path: Path
) -> None:
    with FAKES[vendor]() as fake:
        port, route, token, env = receiving(vendor, fake, tmp_path)
        sent(cli, own_redis.url, env, "order-1")
        receiver = start_worker(
            "--receipts-port",
            str(port),
            "--receipts-path-token-file",
            str(token),
            command="receipts",
            url=own_redis.url,
            **env,
        )
        receiver.wait_for_event("receipts.listening")
        own_redis.stop()
        answers = fake.push_reports(route)
        assert {a.status_code for a in answers} == ({204} if vendor == "twilio" else {503})
        own_redis.start()
        if vendor != "twilio":  # they push again after an answer that is not a success
            assert {a.status_code for a in fake.push_reports(route)} == {200}
    wait_until(
        lambda: states(cli, own_redis.url, "order-1") == {A: "delivered", B: "delivered"},
        timeout_s=30,
        what="every report applied",
        every_s=0.3,
    )


@pytest.mark.parametrize("vendor", ["aliyun", "tencent"])
def test_a_pull_round_during_which_redis_goes_away_loses_nothing(
    vendor: str, cli: Cli, start_worker: Start, own_redis: RedisServer, tmp_path: Path
) -> None:
    with FAKES[vendor]() as fake:
        env = vendor_settings(vendor, fake, tmp_path / "secret")
        sent(cli, own_redis.url, env, "order-2")
        fake.while_pulling = own_redis.stop  # answered, and Redis is gone before the answer is kept
        receiver = start_worker(
            "--receipts-pull",
            vendor,
            "--receipts-pull-after",
            "0",
            "--receipts-pull-every",
            "0.2",
            command="receipts",
            url=own_redis.url,
            **env,
        )
        wait_until(lambda: fake.while_pulling is None, timeout_s=30, what="the pull during which Redis stops")
        pulled = len(fake.pulls)
        # Rounds go on failing while Redis is away; none calls the vendor.
        wait_until(
            lambda: len(receiver.events("receipts.pull_failed")) >= 3,
            timeout_s=30,
            what="rounds with Redis away",
        )
        assert len(fake.pulls) == pulled, "pulled while Redis was away"
        own_redis.start()
        wait_until(
            lambda: states(cli, own_redis.url, "order-2") == {A: "delivered", B: "delivered"},
            timeout_s=30,
            what="the reports pulled written",
            every_s=0.3,
        )
    assert "receipts.unwritten" not in receiver.log_path.read_text()
