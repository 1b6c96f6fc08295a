"""What a bad setting or an unhelpful Redis raises, as one line that says what to do."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click

from smsworker.cli.redis_problems import redis_problem
from smsworker.config.settings import Settings
from smsworker.errors import ConfigError, StartupError
from smsworker.store.errors import RedisError


class SettingError(click.ClickException):
    exit_code = 2


@contextmanager
def friendly_errors(settings: Settings | None = None) -> Iterator[None]:
    """Turn what a bad setting or an unhelpful Redis can raise into one line that says what to do."""
    try:
        yield
    except ConfigError as exc:
        raise SettingError(str(exc)) from None
    except StartupError as exc:
        raise click.ClickException(str(exc)) from None
    except RedisError as exc:
        target = settings.redis_target() if settings else None
        raise click.ClickException(redis_problem(exc, target).shown()) from None
