"""What a bad setting or an unhelpful Redis raises, as one line that says what to do."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import click

from smsworker.config.settings import Settings
from smsworker.errors import ConfigError, StartupError
from smsworker.language import say
from smsworker.redact import redact_url
from smsworker.store.errors import AuthenticationError, RedisConnectionError, RedisError, RedisTimeoutError


class SettingError(click.ClickException):
    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        # click's own "Error: " is English whatever the locale: the line is the reader's language whole.
        click.echo(say("Error: ", "错误：") + self.format_message(), file=file, err=file is None)


@contextmanager
def friendly_errors(settings: Settings | None = None) -> Iterator[None]:
    """Turn what a bad setting or an unhelpful Redis can raise into one line that says what to do."""
    try:
        yield
    except ConfigError as exc:
        raise SettingError(exc.text.shown()) from None
    except StartupError as exc:
        raise click.ClickException(str(exc)) from None
    except RedisError as exc:
        where = settings.redacted_redis_url() if settings else "Redis"
        raise click.ClickException(redis_problem(exc, where)) from None


def redis_problem(exc: RedisError, where: str) -> str:
    """One line for a Redis error, naming the setting to look at; never a password."""
    said = redact_url(str(exc)).rstrip(".") or type(exc).__name__
    if isinstance(exc, AuthenticationError) or "WRONGPASS" in said or "NOAUTH" in said:
        return (
            f"Redis at {where} refused the credentials ({said}). "
            "Check --redis-username and --redis-password-file."
        )
    if isinstance(exc, RedisTimeoutError):
        return (
            f"Redis at {where} accepted the connection but did not answer in time ({said}). "
            "Is it overloaded, loading, or stopped?"
        )
    if "DB index is out of range" in said or "invalid db" in said.lower():
        return (
            f"Redis at {where} has no such database ({said}). Use a smaller number in --redis-url, "
            "or raise 'databases' in redis.conf."
        )
    if isinstance(exc, RedisConnectionError):
        return (
            f"cannot reach Redis at {where}: {said}. Is redis-server running? "
            "Set --redis-url or SMSWORKER_REDIS_URL."
        )
    hint = {
        "WRONGTYPE": " A key smsworker uses holds another type: check --queue and --dead-letter-queue.",
        "NOPERM": " The ACL user lacks a command or key smsworker needs (see the README's Redis keys).",
        "MOVED": " This is a Redis Cluster node.",
    }
    extra = next((text for code, text in hint.items() if said.startswith(code)), "")
    return f"Redis at {where} answered with an error: {said}.{extra}"
