"""The shipped alert rules, checked and run by Prometheus's own promtool: the file is valid, and
each alert fires on the series that should fire it, and stays quiet on a healthy day."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

RULES = Path(__file__).resolve().parents[2] / "contrib" / "prometheus" / "alerts.yml"

DEAD = 'outcome="dead_lettered",reason="provider_rejected"'
# promtool's unit-test format: input series (values every minute), then what must be firing when.
CASES = {
    "input_series": [
        # Healthy: workers alive, queue short and steady.
        {"series": 'smsworker_workers_alive{job="ok"}', "values": "1x40"},
        {"series": 'smsworker_list_length{job="ok",list="queue"}', "values": "10x40"},
        # Trouble: no worker, a queue that grows past 1,000 and a head that ages.
        {"series": 'smsworker_workers_alive{job="down"}', "values": "0x40"},
        {"series": 'smsworker_list_length{job="down",list="queue"}', "values": "1000+50x40"},
        {"series": 'smsworker_oldest_task_age_seconds{job="down"}', "values": "0+60x40"},
        {"series": f'smsworker_recipients_total{{job="down",{DEAD}}}', "values": "0+10x40"},
        {"series": 'smsworker_worker_starts_total{job="down"}', "values": "1 2 3 4 5 6 7 8x33"},
        {"series": 'smsworker_receipts_total{job="down",state="delivered"}', "values": "0+1x40"},
        {"series": 'smsworker_receipts_total{job="down",state="undelivered"}', "values": "0+1x40"},
        # A pause: everything paused on "down" for 80 minutes, one lane on "ok" for half an hour.
        {"series": 'smsworker_paused{job="down",lane="*",provider="*"}', "values": "1x80"},
        {"series": 'smsworker_paused{job="ok",lane="otp",provider="*"}', "values": "1x30"},
    ],
    "alert_rule_test": [
        {"eval_time": "1m", "alertname": "SmsNoWorkerAlive", "exp_alerts": []},
        {
            "eval_time": "10m",
            "alertname": "SmsNoWorkerAlive",
            "exp_alerts": [{"exp_labels": {"severity": "critical", "job": "down"}}],
        },
        {
            "eval_time": "30m",
            "alertname": "SmsQueueGrowing",
            "exp_alerts": [{"exp_labels": {"severity": "warning", "job": "down"}}],
        },
        {
            "eval_time": "12m",
            "alertname": "SmsOldestTaskTooOld",
            "exp_alerts": [{"exp_labels": {"severity": "critical", "job": "down"}}],
        },
        {
            "eval_time": "20m",
            "alertname": "SmsDeadLettersRising",
            "exp_alerts": [{"exp_labels": {"severity": "warning", "job": "down"}}],
        },
        {
            "eval_time": "10m",
            "alertname": "SmsWorkerRestarting",
            "exp_alerts": [{"exp_labels": {"severity": "warning", "job": "down"}}],
        },
        {"eval_time": "39m", "alertname": "SmsWorkerRestarting", "exp_alerts": []},
        {
            "eval_time": "39m",
            "alertname": "SmsUndeliveredRatioHigh",
            "exp_alerts": [{"exp_labels": {"severity": "warning", "job": "down"}}],
        },
        {"eval_time": "50m", "alertname": "SmsPausedForAnHour", "exp_alerts": []},
        {
            "eval_time": "70m",
            "alertname": "SmsPausedForAnHour",
            "exp_alerts": [
                {"exp_labels": {"severity": "warning", "job": "down", "lane": "*", "provider": "*"}}
            ],
        },
    ],
}


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert shutil.which("promtool"), "make test installs Debian's prometheus package for promtool"
    return subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    checked = promtool("check", "rules", str(RULES), cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 7 rules found" in checked.stdout


def test_each_alert_fires_when_it_should_and_not_before(tmp_path: Path) -> None:
    # The expressions as shipped; the annotations (checked by `check rules` above) left out, so that
    # the expected alerts need not spell out every rendered summary.
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations")
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    tests: dict[str, Any] = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", **CASES}],
    }
    (tmp_path / "alerts_test.yml").write_text(yaml.safe_dump(tests))
    ran = promtool("test", "rules", "alerts_test.yml", cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    # And the run can fail: an alert expected where the rules say nothing.
    tests["tests"][0]["alert_rule_test"] = [
        {"eval_time": "10m", "alertname": "SmsNoWorkerAlive", "exp_alerts": []}
    ]
    (tmp_path / "alerts_test.yml").write_text(yaml.safe_dump(tests))
    assert promtool("test", "rules", "alerts_test.yml", cwd=tmp_path).returncode != 0
