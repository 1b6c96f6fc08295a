"""Prometheus metrics of ``smsworker receipts`` on ``--receipts-metrics-port``, a registry of its own.

A port of its own, apart from the workers' ``--metrics-port``: both may run on one host from one
config file, and the receiver's public port must not publish metrics through the proxy.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

from smsworker.store.receipts import Applied

# From the provider's acceptance to the handset: seconds for most, hours for a phone that was off.
DELAY_BUCKETS = (1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600, 72 * 3600)


class ReceiptMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.reports = Counter(
            "smsworker_receipts",
            "Delivery reports received, by provider and what they did (delivered, undelivered, "
            "duplicate; held: came before their task settled, counted again once applied; unmatched; "
            "malformed: elements of a pushed batch that were not reports)",
            ["provider", "state"],
            registry=self.registry,
        )
        self.delay = Histogram(
            "smsworker_receipt_delivery_seconds",
            "Seconds from the provider accepting a message to its delivery report",
            ["provider"],
            buckets=DELAY_BUCKETS,
            registry=self.registry,
        )
        self._server: Any = None

    def applied(self, applied: Applied) -> None:
        provider = applied.report.provider
        self.reports.labels(provider, applied.outcome).inc()
        if applied.outcome == "delivered" and applied.delay_s is not None:
            self.delay.labels(provider).observe(applied.delay_s)

    def serve(self, port: int, address: str) -> None:
        self._server, _ = start_http_server(port, addr=address, registry=self.registry)
