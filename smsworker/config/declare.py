"""How a setting is declared: one ``setting(...)`` per field of ``Settings`` holds its default, its
converter, its help text, its environment and TOML names, and the commands that take it.

The loader (``settings.py``), the command-line flags (``cli/options.py``) and the README's table all
read these declarations, so a setting cannot say one thing in one place and another elsewhere.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

ENV_PREFIX = "SMSWORKER_"
_KEY = "smsworker.setting"

# Which commands take a setting (its scope): every command that talks to Redis, the worker's (run,
# drain, check), the delivery-report receiver's (receipts), the dashboard's. A scope is a tuple so that
# a setting can belong to several: WORKER + RECEIPTS.
ALL = ("all",)
WORKER = ("worker",)
RECEIPTS = ("receipts",)
DASHBOARD = ("dashboard",)


@dataclass(frozen=True)
class Setting:
    """One setting as a user sees it. ``name`` is the field of ``Settings`` it fills; ``declared()``
    fills it in, with the environment name, TOML name and flag derived from it unless declared."""

    default: Any
    convert: Callable[[Any], Any]
    help: str
    scope: tuple[str, ...]
    name: str = ""
    env: str = ""
    toml: str = ""
    flag: str = ""
    # How the environment variable lists several values ("comma-separated", "one a line").
    env_form: str = ""
    # The default as --help and the README show it, when its value alone would not say it.
    shown: str | None = None
    # A boolean: --name/--no-name (negatable) or a bare --name that turns it on.
    negatable: bool = True
    # A flag given several times (its name singular: --sentinel for sentinels).
    repeatable: bool = False
    # The systemd credential (LoadCredential=<name>) taken as this setting's file unless it is set.
    credential: str = ""
    # How an error shows a bad value that may hold a secret (returning "" shows none of it).
    reveal: Callable[[Any], str] | None = None

    @property
    def shown_default(self) -> str | None:
        """The default as ``[default: ...]`` shows it; None when there is nothing to show."""
        if self.shown is not None:
            return self.shown
        value = self.default
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return None if value in ("", (), None) or value == {} else str(value)

    @property
    def is_switch(self) -> bool:
        return isinstance(self.default, bool)


def setting(
    default: T,
    convert: Callable[[Any], Any],
    scope: tuple[str, ...],
    help: str,
    *,
    flag: str = "",
    env_form: str = "",
    shown: str | None = None,
    negatable: bool = True,
    repeatable: bool = False,
    credential: str = "",
    reveal: Callable[[Any], str] | None = None,
) -> T:
    """A field of ``Settings`` and its declaration (the keywords: see ``Setting``)."""
    declared = Setting(
        default,
        convert,
        help,
        scope,
        flag=flag,
        env_form=env_form,
        shown=shown,
        negatable=negatable,
        repeatable=repeatable,
        credential=credential,
        reveal=reveal,
    )
    metadata = {_KEY: declared}
    if isinstance(default, dict):  # a mutable default: each Settings gets its own copy
        return dataclasses.field(default_factory=lambda: copy.copy(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def declared(cls: type) -> tuple[Setting, ...]:
    """The settings declared on the dataclass ``cls``, in declaration order, names filled in: the
    environment name ``SMSWORKER_<NAME>``, the TOML name and the flag ``--<name>`` unless declared."""
    return tuple(_named(field.name, field.metadata[_KEY]) for field in _fields(cls))


def _fields(cls: type) -> Iterator[dataclasses.Field[Any]]:
    return (field for field in dataclasses.fields(cls) if _KEY in field.metadata)


def _named(name: str, declared: Setting) -> Setting:
    return dataclasses.replace(
        declared,
        name=name,
        env=declared.env or ENV_PREFIX + name.upper(),
        toml=declared.toml or name,
        flag=declared.flag or "--" + name.replace("_", "-"),
    )
