"""``smsworker receipts``: take the vendors' delivery reports (pushed, pulled, or both) until SIGTERM."""

from __future__ import annotations

import signal
import threading
from typing import Any

import click

from smsworker.app import build_logger
from smsworker.cli.errors import friendly_errors
from smsworker.cli.options import common_options, receipts_options, settings_from

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
    It listens on 127.0.0.1:8090 unless told otherwise: it is meant to sit behind a TLS proxy,
    in a process (and systemd unit) of its own, apart from the workers.
    """
    # Imported here, not with the CLI: the workers never carry Flask or waitress (RSS, scenario (e)).
    from smsworker.cli.web_server import create_server
    from smsworker.receiver.app import MAX_BODY
    from smsworker.receiver.setup import build_receiver, serve_metrics

    settings = settings_from(flags)
    with friendly_errors(settings):
        log = build_logger(settings)
        receiver = build_receiver(settings, log)
        server = None
        if receiver.app is not None:
            server = create_server(
                receiver.app,
                settings.receipts_address,
                settings.receipts_port,
                max_body=MAX_BODY,
                threads=8,
                flags="receipts",
            )
        if receiver.metrics is not None:
            serve_metrics(receiver.metrics, settings)
    if server is not None:
        log.info(
            "receipts.listening",
            address=settings.receipts_address,
            port=settings.receipts_port,
            sources=receiver.app.config["SMSWORKER_SOURCES"] if receiver.app else [],
        )
    stopping = threading.Event()
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

    def stop(signum: int, frame: Any) -> None:
        if receiver.puller is not None:
            receiver.puller.stop()  # the round in progress ends at its next call
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
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
