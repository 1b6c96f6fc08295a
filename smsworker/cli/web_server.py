"""The WSGI server of ``receipts`` and ``dashboard``: waitress, and a busy port said in one line.

waitress reads a whole request before the app sees it: a slow client holds a buffer, never one of
the threads, and a body over ``max_body`` bytes is refused while it is being read (waitress refuses
a body of its limit or more, so its limit is one more). Imported only by those two commands: the
workers never carry Flask or waitress (RSS, scenario (e)).
"""

from __future__ import annotations

from typing import Any

from smsworker.errors import StartupError


def create_server(app: Any, address: str, port: int, *, max_body: int, threads: int, flags: str) -> Any:
    """A server bound to ``address:port``; ``flags``: the --<flags>-port/-address options to blame."""
    import waitress

    try:
        return waitress.create_server(
            app,
            host=address,
            port=port,
            threads=threads,
            max_request_body_size=max_body + 1,
            channel_timeout=30,
            ident="smsworker",
        )
    except OSError as exc:
        raise StartupError.cannot_listen("listen", address, port, exc, flags) from None
