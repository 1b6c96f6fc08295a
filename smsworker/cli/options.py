"""The commands' flags, built from the settings' declarations (``config/``), and turning the flags
given into ``Settings``.

Each flag's help is its declaration's, followed by the declared default and environment name, so
``--help`` cannot drift from what ``load_settings`` does. Every flag defaults to None: a flag not
given leaves the setting to the lower layers (TOML file, environment, default).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click

from smsworker.cli.errors import friendly_errors
from smsworker.config.declare import ALL, DASHBOARD, RECEIPTS, WORKER, Setting
from smsworker.config.schema import BY_NAME, SETTINGS
from smsworker.config.settings import Settings, load_settings
from smsworker.config.worker import PROVIDERS
from smsworker.providers.registry import FACTORIES

F = Callable[..., Any]


def help_text(declared: Setting) -> str:
    """A flag's help: what the setting does, its default (if it has one) and its environment name."""
    text = declared.help.replace(PROVIDERS, ", ".join(sorted(FACTORIES)))
    shown = declared.shown_default
    if shown is not None:
        text += f" [default: {shown}]"
    env = f"{declared.env}, {declared.env_form}" if declared.env_form else declared.env
    return f"{text} [env: {env}]"


def setting_option(name: str) -> Callable[[F], F]:
    """The flag of the setting ``name``, passed to the command as the keyword ``name``."""
    declared = BY_NAME[name]
    text = help_text(declared)
    if declared.repeatable:
        return click.option(declared.flag, name, multiple=True, help=text)
    if declared.is_switch and declared.negatable:
        return click.option(f"{declared.flag}/--no-{declared.flag[2:]}", name, default=None, help=text)
    if declared.is_switch:
        return click.option(declared.flag, name, is_flag=True, default=None, help=text)
    return click.option(declared.flag, name, default=None, help=text)


def options_for(scope: tuple[str, ...]) -> Callable[[F], F]:
    """The flags of every setting of ``scope``, shown in the order they are declared."""
    chosen = [declared.name for declared in SETTINGS if set(declared.scope) & set(scope)]

    def decorate(func: F) -> F:
        for name in reversed(chosen):  # the option applied last is listed first
            func = setting_option(name)(func)
        return func

    return decorate


def common_options(func: F) -> F:
    func = options_for(ALL)(func)
    return click.option(
        "--config", type=click.Path(dir_okay=False), help="TOML file of settings. [env: SMSWORKER_CONFIG]"
    )(func)


worker_options = options_for(WORKER)
receipts_options = options_for(RECEIPTS)
dashboard_options = options_for(DASHBOARD)


def settings_from(flags: dict[str, Any]) -> Settings:
    config = flags.pop("config", None)
    with friendly_errors():
        return load_settings(flags, os.environ, config)


def plural(n: int, noun: str, nouns: str = "") -> str:
    return f"{n} {noun if n == 1 else nouns or noun + 's'}"
