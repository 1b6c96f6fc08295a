"""The Grafana dashboard and the Prometheus alert rules in contrib/ ask only for what smsworker
really exports: every metric name, with its suffix, and every label in a matcher. A renamed metric
would leave a blank panel or an alert that can never fire; this finds it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import fakeredis
import pytest
import yaml

from smsworker.daemon.metrics import PrometheusMetrics
from smsworker.receiver.metrics import ReceiptMetrics
from smsworker.store.queue import RedisQueue

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "contrib" / "grafana" / "smsworker.json"
ALERTS = ROOT / "contrib" / "prometheus" / "alerts.yml"
# Words in PromQL that are not metric names.
PROMQL = {
    "sum",
    "max",
    "min",
    "avg",
    "by",
    "without",
    "rate",
    "increase",
    "deriv",
    "histogram_quantile",
    "clamp_min",
    "and",
    "or",
    "unless",
    "le",
    "label_values",
    "offset",
    "bool",
    "on",
    "ignoring",
}
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def exported() -> tuple[set[str], set[str]]:
    """(every series name, every label name) the worker's and the receiver's registries expose."""
    worker = PrometheusMetrics()
    worker.watch(RedisQueue(fakeredis.FakeRedis(), "sms_queue", "{sms_queue}:dead"), lambda: 0)
    names: set[str] = set()
    labels: set[str] = {"job", "instance", "le"}
    for registry in (worker.registry, ReceiptMetrics().registry):
        for family in registry.collect():
            names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
        for name, kept in registry._names_to_collectors.items():  # labels of metrics not yet seen
            labels.update(getattr(kept, "_labelnames", ()))
            names.add(name)
    labels.update({"list", "lane", "provider"})  # smsworker_list_length's, smsworker_paused's: at scrape time
    return names, labels


def dashboard_queries() -> list[str]:
    board: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    queries = [t["expr"] for panel in board["panels"] for t in panel.get("targets", [])]
    queries += [v["query"]["query"] for v in board["templating"]["list"] if isinstance(v.get("query"), dict)]
    return queries


def alert_rules() -> list[dict[str, Any]]:
    rules: dict[str, Any] = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule for group in rules["groups"] for rule in group["rules"]]


def problems(query: str, names: set[str], labels: set[str]) -> set[str]:
    """Names in ``query`` that are neither PromQL, nor an exported series, nor an exported label."""
    without_strings = re.sub(r'"[^"]*"', '""', query)
    words = set(re.findall(r"\b[a-zA-Z_][a-zA-Z0-9_]*\b", re.sub(r"\[[^\]]*\]", "", without_strings)))
    matched = set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*=~?\s*\"", query))
    grouped = {w.strip() for group in re.findall(r"by \(([^)]*)\)", query) for w in group.split(",")}
    return (words - PROMQL - names - labels) | ((matched | grouped) - labels)


def test_the_dashboard_and_the_rules_name_only_exported_metrics_and_labels() -> None:
    names, labels = exported()
    queries = dashboard_queries() + [rule["expr"] for rule in alert_rules()]
    assert len(queries) > 15
    for query in queries:
        assert problems(query, names, labels) == set(), query


def test_every_alert_says_what_to_do() -> None:
    rules = alert_rules()
    assert {rule["alert"] for rule in rules} >= {
        "SmsQueueGrowing",
        "SmsOldestTaskTooOld",
        "SmsDeadLettersRising",
        "SmsNoWorkerAlive",
        "SmsWorkerRestarting",
        "SmsUndeliveredRatioHigh",
        "SmsPausedForAnHour",
    }
    for rule in rules:
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_the_dashboard_works_air_gapped_with_any_datasource() -> None:
    text = DASHBOARD.read_text(encoding="utf-8")
    assert "http://" not in text and "https://" not in text
    board = json.loads(text)
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]


@pytest.mark.parametrize(
    ("query", "wrong"),
    [
        ("sum(smsworker_nope_total)", {"smsworker_nope_total"}),
        ('sum(smsworker_list_length{lst="queue"})', {"lst"}),
        ("sum by (providr) (rate(smsworker_retries_total[5m]))", {"providr"}),
        ("node_systemd_unit_state > 0", {"node_systemd_unit_state"}),
    ],
)
def test_the_check_catches_a_wrong_name_or_label(query: str, wrong: set[str]) -> None:
    names, labels = exported()
    assert problems(query, names, labels) == wrong
