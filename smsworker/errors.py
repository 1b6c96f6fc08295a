"""The exceptions that cross module boundaries, and what each one means to the worker."""

from __future__ import annotations

from smsworker.language import Text


class ConfigError(ValueError):
    """A setting has a bad value. The message names the setting and where it came from; ``text``
    holds it in English and Chinese, for the reader's locale (``str()`` is the English)."""

    def __init__(self, message: str | Text) -> None:
        self.text = message if isinstance(message, Text) else Text.untranslated(message)
        super().__init__(self.text.en)


class StartupError(Exception):
    """The process cannot start for a reason outside the settings (a port in use): one line, exit 1."""

    @classmethod
    def cannot_listen(
        cls, doing: str, address: str, port: int, exc: OSError, flags: str, address_flags: str = ""
    ) -> StartupError:
        """``doing`` ("serve metrics") on ``address:port`` failed; ``flags``: the --<flags>-port and
        --<flags>-address options that choose another (``address_flags`` for the address if not)."""
        return cls(
            f"cannot {doing} on {address}:{port}: {exc.strerror or exc}. "
            f"Choose another --{flags}-port or --{address_flags or flags}-address."
        )


class InvalidTask(ValueError):
    """A queue element that cannot be a task; ``reason`` is the dead-letter reason code."""

    def __init__(self, reason: str, error: str) -> None:
        super().__init__(error)
        self.reason = reason
        self.error = error


class ProviderError(Exception):
    """A provider could not send. Subclasses say whether trying again can help."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class TransientProviderError(ProviderError):
    """Worth retrying: timeouts, connection errors, throttling, 5xx.

    ``retry_after_s`` is the provider's own hint (e.g. ``Retry-After``); the retry policy waits at
    least that long, capped at its maximum backoff.
    """

    def __init__(self, message: str, *, code: str | None = None, retry_after_s: float | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s


class PermanentProviderError(ProviderError):
    """Retrying cannot help (bad number, rejected content, auth): dead-letter at once.

    ``recipient_fault`` marks errors about the number itself (invalid, blacklisted, its own daily
    limit): another provider would refuse it too, so a failover chain does not try the next one.
    """

    def __init__(self, message: str, *, code: str | None = None, recipient_fault: bool = False) -> None:
        super().__init__(message, code=code)
        self.recipient_fault = recipient_fault


class UnsendableMessage(PermanentProviderError):
    """The message cannot even be put into a request (a value that has no JSON or form encoding).
    Dead-lettered as ``unsendable``: no provider and no retry can help."""


class TakenOver(Exception):
    """Raised inside a retry wait when another worker has taken the task over (this one's heartbeat
    lapsed meanwhile): the recipients left are theirs to send."""


class ShutdownRequested(Exception):
    """Raised inside a retry wait when the worker is stopping: the send is left unsettled."""
