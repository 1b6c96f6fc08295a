"""``smsworker receipts``: take the vendors' delivery reports (pushed, pulled, or both) until SIGTERM."""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Any

import click

from smsworker.app import build_logger
from smsworker.cli.errors import friendly_errors
from smsworker.cli.options import common_options, receipts_options, settings_from
from smsworker.config.settings import Settings

if TYPE_CHECKING:
    from smsworker.receiver.setup import Receiver

# Seconds a stopping receiver keeps trying to write what it took and Redis did not (backlog.py).
FLUSH_S = 10.0


@click.command()
@common_options
@receipts_options
def receipts(**flags: Any) -> None:
    """Receive delivery reports and move each recipient's state (see 'smsworker status').

    \b
    POST /http              the http provider's reports, signed with --http-report-secret-file
                            (the format is in the README, "Delivery reports")
    POST /aliyun/<token>    Alibaba Cloud's SmsReport push  } the token from
    POST /tencent/<token>   Tencent Cloud's status callback } --receipts-path-token-file
    POST /twilio            Twilio's StatusCallback, signed with the auth token over
                            [twilio] status_callback_url (also sent with each message)
    --receipts-pull aliyun,tencent   ask the vendors' APIs instead, or as well
    It listens on --receipts-address and --receipts-port (loopback unless told otherwise): it is
    meant to sit behind a TLS proxy, in a process (and systemd unit) of its own, apart from the
    workers.
    """
    # Imported here, not with the CLI: the workers never carry Flask or waitress (RSS, scenario (e)).
    from smsworker.receiver.setup import build_receiver, serve_metrics

    settings = settings_from(flags)
    with friendly_errors(settings):
        log = build_logger(settings)
        receiver = build_receiver(settings, log)
        server = _http_server(receiver, settings)
        if receiver.metrics is not None:
            serve_metrics(receiver.metrics, settings)
    stopping = threading.Event()
    _start(receiver, server, stopping, settings, log)
    _stop_on_signals(receiver, stopping)
    if receiver.puller is not None:
        log.info(
            "receipts.pulling",
            vendors=receiver.puller.vendors,
            every_s=settings.receipts_pull_every,
            after_s=settings.receipts_pull_after,
        )
        receiver.puller.run(settings.receipts_pull_every)
    stopping.wait()
    # What a vendor handed out once and Redis has not taken yet: a last chance before exit.
    receiver.backlog.flush(patience_s=FLUSH_S)
    log.info("receipts.stopped")


def _http_server(receiver: Receiver, settings: Settings) -> Any | None:
    """The server of the pushes; None when the receiver only pulls."""
    from smsworker.cli.web_server import create_server
    from smsworker.receiver.app import MAX_BODY

    if receiver.app is None:
        return None
    return create_server(
        receiver.app,
        settings.receipts_address,
        settings.receipts_port,
        max_body=MAX_BODY,
        threads=8,
        flags="receipts",
    )


def _start(
    receiver: Receiver, server: Any | None, stopping: threading.Event, settings: Settings, log: Any
) -> None:
    """The threads that take pushes, apply held reports and write the backlog, until ``stopping``."""
    if server is not None and receiver.app is not None:
        log.info(
            "receipts.listening",
            address=settings.receipts_address,
            port=settings.receipts_port,
            sources=receiver.app.config["SMSWORKER_SOURCES"],
        )
    # Daemons: a round cut short by the exit is done again next time (held.py, backlog.py).
    if server is not None:
        threading.Thread(target=server.run, name="smsworker-receipts-http", daemon=True).start()
    if receiver.held is not None:
        threading.Thread(
            target=receiver.held.run, args=(stopping,), name="smsworker-held", daemon=True
        ).start()
    threading.Thread(
        target=receiver.backlog.run, args=(stopping,), name="smsworker-backlog", daemon=True
    ).start()


def _stop_on_signals(receiver: Receiver, stopping: threading.Event) -> None:
    def stop(signum: int, frame: Any) -> None:
        if receiver.puller is not None:
            receiver.puller.stop()  # the round in progress ends at its next call
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
