"""Prometheus metrics scraped over HTTP from a real `smsworker run`, parsed with prometheus_client."""

from __future__ import annotations

import signal
from collections.abc import Callable

from tests.support.fake_sms_api import FakeSmsApi, Reply
from tests.support.processes import WorkerProcess
from tests.support.redis_server import RedisServer, free_port
from tests.support.scrape import scrape
from tests.support.waiting import wait_until


def test_metrics_endpoint(
    start_worker: Callable[..., WorkerProcess], redis_server: RedisServer, fake_api: FakeSmsApi
) -> None:
    port = free_port()
    fake_api.script("+8613800138001", Reply(503), Reply(200))  # one retry
    worker = start_worker(
        "--provider",
        "http",
        "--http-url",
        fake_api.url,
        "--metrics-port",
        str(port),
        "--backoff-base",
        "0.01",
        "--backoff-max",
        "0.02",
    )
    worker.wait_for_event("worker.started")
    r = redis_server.client()
    r.lpush("sms_queue", '{"template_id":1,"mobiles":["13800138000","13800138001","12345"],"content":"x"}')
    r.lpush("sms_queue", "not json")
    url = f"http://127.0.0.1:{port}/metrics"
    wait_until(
        lambda: scrape(url).get(("smsworker_tasks_total", (("outcome", "settled"),))) == 1,
        what="a settled task",
    )
    m = scrape(url)
    assert m[("smsworker_tasks_total", (("outcome", "dead_lettered"),))] == 1
    assert m[("smsworker_recipients_total", (("outcome", "sent"), ("reason", "")))] == 2
    assert (
        m[("smsworker_recipients_total", (("outcome", "dead_lettered"), ("reason", "invalid_mobile")))] == 1
    )
    assert m[("smsworker_recipients_total", (("outcome", "dead_lettered"), ("reason", "invalid_json")))] == 1
    assert m[("smsworker_retries_total", (("provider", "http"),))] == 1
    assert m[("smsworker_segments_total", ())] == 2
    assert m[("smsworker_provider_request_seconds_count", (("provider", "http"),))] == 3
    assert m[("smsworker_list_length", (("list", "dead"),))] == 2
    assert m[("smsworker_list_length", (("list", "queue"),))] == 0
    assert ("smsworker_sends_in_flight", ()) in m
    assert m[("smsworker_workers_alive", ())] == 1 and m[("smsworker_worker_starts_total", ())] == 1
    assert m[("smsworker_oldest_task_age_seconds", ())] == 0  # the queue is empty
    worker.send(signal.SIGTERM)
    assert worker.wait(timeout_s=15) == 0
