"""What a bad setting or an unhelpful Redis raises, as one line that says what to do."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import click

from smsworker.cli.redis_problems import redis_problem
from smsworker.config.settings import Settings
from smsworker.errors import ConfigError, StartupError
from smsworker.language import say
from smsworker.store.errors import RedisError


class ProblemError(click.ClickException):
    """A line the reader acts on, already in their language; exit 1."""

    def show(self, file: IO[Any] | None = None) -> None:
        # click's own "Error: " is English whatever the locale: the line is the reader's language whole.
        click.echo(say("Error: ", "错误：") + self.format_message(), file=file, err=file is None)


class SettingError(ProblemError):
    """A bad setting: exit 2, as click's own usage errors."""

    exit_code = 2


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
        target = settings.redis_target() if settings else None
        raise ProblemError(redis_problem(exc, target).shown()) from None
