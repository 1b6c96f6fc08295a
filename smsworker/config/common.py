"""The settings every command that talks to Redis takes: where Redis is, the queue's name, the logs."""

from __future__ import annotations

from dataclasses import dataclass

from smsworker.config import addresses, values
from smsworker.config.declare import ALL, setting
from smsworker.redact import redact_url

LOG_FORMATS = ("auto", "json", "console")
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class CommonSettings:
    redis_url: str = setting(
        "redis://127.0.0.1:6379/0",
        addresses.redis_url,
        ALL,
        "Redis to use: redis://host:6379/0, rediss:// for TLS.",
        reveal=lambda v: f" {redact_url(str(v))!r}",
    )
    # The password only from a file (or the systemd credential redis_password), never from a flag.
    redis_username: str = setting("", values.text, ALL, "ACL user name.")
    redis_password_file: str = setting(
        "",
        values.text,
        ALL,
        "File holding the Redis password (or the credential redis_password).",
        credential="redis_password",
    )
    redis_tls_ca_file: str = setting("", values.text, ALL, "CA certificate to trust for rediss://.")
    redis_tls_cert_file: str = setting(
        "", values.text, ALL, "Client certificate for rediss://, if the server asks for one."
    )
    redis_tls_key_file: str = setting("", values.text, ALL, "Key of that client certificate.")
    sentinel_master: str = setting(
        "mymaster", values.nonempty, ALL, "Name of the primary the sentinels watch."
    )
    sentinels: tuple[tuple[str, int], ...] = setting(
        (),
        addresses.host_ports,
        ALL,
        "A Redis Sentinel as host:port; repeatable. The primary is then found through them.",
        flag="--sentinel",
        repeatable=True,
        env_form="comma-separated",
    )
    # The URL still gives the scheme and the user of a cluster's nodes.
    redis_cluster: tuple[tuple[str, int], ...] = setting(
        (),
        addresses.host_ports,
        ALL,
        "A seed node of a Redis Cluster as host:port; repeatable. Scheme, user and password come from "
        "--redis-url. Not needed to point at one node: a cluster is detected.",
        repeatable=True,
        env_form="comma-separated",
    )
    queue: str = setting("sms_queue", values.nonempty, ALL, "List the producers LPUSH tasks to.")
    dead_letter_queue: str = setting(
        "", values.text, ALL, "List for tasks that could not be sent.", shown="{<queue>}:dead"
    )
    log_format: str = setting(
        "auto",
        values.choice(LOG_FORMATS),
        ALL,
        f"One of {', '.join(LOG_FORMATS)}: JSON off a terminal, console on one.",
    )
    log_level: str = setting("info", values.choice(LOG_LEVELS), ALL, f"One of {', '.join(LOG_LEVELS)}.")
