"""The settings of ``smsworker receipts``, the delivery-report receiver, and those it shares with the
workers (the list of status changes, dead-lettering undelivered recipients)."""

from __future__ import annotations

from dataclasses import dataclass

from smsworker.config import addresses, values
from smsworker.config.declare import RECEIPTS, WORKER, setting


@dataclass(frozen=True)
class ReceiptsSettings:
    # The workers (sent, dead) and the receiver (delivered, undelivered) both write the list of
    # changes, and both take part in dead-lettering undelivered recipients (the workers keep the bytes).
    receipts_list: bool = setting(
        False,
        values.to_bool,
        WORKER + RECEIPTS,
        "Also push every status change of a task pushed with an id, as JSON, to the Redis list "
        "{<queue>}:changes, for your app to brPop (SmsQueue::nextChange). Give it to the workers and to "
        "receipts alike.",
    )
    receipts_list_max: int = setting(
        100_000,
        values.number(int, 1, 10_000_000),
        WORKER + RECEIPTS,
        "Changes the list keeps; older ones are dropped (LTRIM).",
    )
    dead_letter_undelivered: bool = setting(
        False,
        values.to_bool,
        WORKER + RECEIPTS,
        "Dead-letter a recipient whose delivery report says undelivered (reason undelivered), so 'dlq "
        "replay' sends it again, e.g. through a failover chain. The workers then keep each task's bytes "
        "with its receipts (--receipt-ttl). Give it to the workers and to receipts alike.",
    )
    # The receiver listens on loopback unless told otherwise: it faces vendors through a proxy.
    receipts_address: str = setting(
        "127.0.0.1",
        values.nonempty,
        RECEIPTS,
        "Address the receiver listens on (put a TLS proxy in front of it).",
    )
    receipts_port: int = setting(
        8090, values.number(int, 1, 65535), RECEIPTS, "Port the receiver listens on."
    )
    http_report_secret_file: str = setting(
        "",
        values.text,
        RECEIPTS,
        "File holding the secret the http provider's delivery reports are signed with (HMAC-SHA256).",
        credential="http_report_secret",
    )
    # Alibaba's and Tencent's pushes sign nothing: a secret in the path, and where they may come from.
    receipts_path_token_file: str = setting(
        "",
        values.text,
        RECEIPTS,
        "File holding the secret token in the URL path Alibaba and Tencent push reports to "
        "(/aliyun/<token>, /tencent/<token>): they sign nothing. 16+ characters of A-Z a-z 0-9 - _.",
        credential="receipts_path_token",
    )
    receipts_allow: tuple[addresses.Network, ...] = setting(
        (),
        addresses.networks,
        RECEIPTS,
        "Networks Alibaba's and Tencent's pushes may come from, comma-separated (e.g. the vendor's "
        "published ranges); others get 403.",
    )
    receipts_pull: tuple[str, ...] = setting(
        (),
        values.choices(("aliyun", "tencent")),
        RECEIPTS,
        "Also pull reports from these vendors' APIs, comma-separated: aliyun (QuerySendDetails, per "
        "receipt awaiting a report), tencent (PullSmsSendStatus). For when the vendor cannot reach you; "
        "paced by --rate-limit aliyun.pull=10/s (the default).",
    )
    receipts_pull_after: float = setting(
        60.0,
        values.number(float, 0, values.DAY_S),
        RECEIPTS,
        "Seconds a receipt waits for its report before Alibaba is asked about it.",
    )
    receipts_pull_every: float = setting(
        30.0, values.seconds(3600), RECEIPTS, "Seconds between two pull rounds."
    )
    receipts_hold: float = setting(
        6 * 3600.0,
        values.number(float, 0, 30 * values.DAY_S),
        RECEIPTS,
        "Seconds a report that came before its task settled waits for the task's receipt record (then "
        "it is applied); past them it counts as unmatched. 0: unmatched at once.",
    )
    receipts_hold_max: int = setting(
        100_000,
        values.number(int, 1, 10_000_000),
        RECEIPTS,
        "Reports held at most at once; more count as unmatched at once.",
    )
    # Its own port: a worker on the same host has metrics_port.
    receipts_metrics_port: int | None = setting(
        None,
        addresses.port,
        RECEIPTS,
        "Serve the receiver's Prometheus metrics on this port (at --metrics-address), apart from the "
        "report port.",
    )
