"""Every setting is declared once, completely, and what reads the declarations honours them: the loader
(environment and TOML names), the CLI (flags, shown defaults), the worker's options (defaults).

The tests iterate over the declarations, so a setting added later is checked without a new test."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import click
import pytest

from smsworker.app import worker_options
from smsworker.cli import cli
from smsworker.config.declare import ALL, DASHBOARD, ENV_PREFIX, RECEIPTS, WORKER, Setting
from smsworker.config.schema import SETTINGS, Settings
from smsworker.config.settings import load_settings
from smsworker.errors import ConfigError
from smsworker.worker.options import WorkerOptions

SCOPES = {ALL[0], WORKER[0], RECEIPTS[0], DASHBOARD[0]}
# Fields a user does not set: load_settings derives them (secrets read from files, provider and lane tables).
DERIVED = {
    "provider_options",
    "lanes",
    "redis_password",
    "http_report_secret",
    "receipts_path_token",
    "dashboard_secret",
    "redis_db",
}
# Which settings each command takes, by scope.
COMMAND_SCOPES = {
    ("run",): WORKER,
    ("drain",): WORKER,
    ("check",): WORKER,
    ("receipts",): RECEIPTS,
    ("dashboard",): DASHBOARD,
    ("enqueue",): (),
    ("stats",): (),
    ("status",): (),
    ("dlq", "list"): (),
    ("dlq", "replay"): (),
    ("dlq", "purge"): (),
}


def ids(declared: Setting) -> str:
    return declared.name


def test_every_field_a_user_sets_is_declared() -> None:
    fields = {field.name for field in dataclasses.fields(Settings)}
    assert fields - DERIVED == {declared.name for declared in SETTINGS}


@pytest.mark.parametrize("declared", SETTINGS, ids=ids)
def test_each_setting_has_help_an_environment_name_a_toml_name_and_a_scope(declared: Setting) -> None:
    assert declared.help.strip() and declared.help.rstrip().endswith("."), "help must be a sentence"
    assert declared.env == declared.env.upper() and declared.env.startswith(ENV_PREFIX)
    assert re.fullmatch(r"[a-z][a-z0-9_]*", declared.toml)
    assert re.fullmatch(r"--[a-z][a-z0-9-]*", declared.flag)
    assert declared.scope and set(declared.scope) <= SCOPES
    assert callable(declared.convert)


def test_names_are_unique() -> None:
    for attribute in ("env", "toml", "flag"):
        names = [getattr(declared, attribute) for declared in SETTINGS]
        assert len(names) == len(set(names)), attribute


@pytest.mark.parametrize("declared", SETTINGS, ids=ids)
def test_the_declared_default_is_what_settings_holds_and_its_converter_accepts(declared: Setting) -> None:
    default = getattr(Settings(), declared.name)
    assert default == declared.default
    if default not in (None, "") and not declared.reveal:
        assert declared.convert(default) == default


@pytest.mark.parametrize("declared", [s for s in SETTINGS if isinstance(s.default, bool)], ids=ids)
def test_a_switch_shows_its_default_as_a_word_its_environment_name_takes(declared: Setting) -> None:
    """--help shows a switch's default; a user copies that word into the environment, so it must
    be one the loader takes, meaning that default."""
    shown = declared.shown_default
    assert shown is not None
    loaded = load_settings({}, {declared.env: shown})
    assert getattr(loaded, declared.name) == declared.default


@pytest.mark.parametrize("declared", SETTINGS, ids=ids)
def test_the_loader_reads_the_declared_environment_name(declared: Setting) -> None:
    # A lone surrogate (invalid UTF-8 in the environment) is refused by every converter.
    with pytest.raises(ConfigError, match=re.escape(f"(from environment {declared.env})")):
        load_settings({}, {declared.env: "\udcff"})


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "{}" if isinstance(value, dict) else "[]"


def test_the_loader_reads_every_declared_toml_name(tmp_path: Path) -> None:
    file = tmp_path / "smsworker.toml"
    given = [declared for declared in SETTINGS if declared.default is not None]
    file.write_text("".join(f"{d.toml} = {_toml(d.default)}\n" for d in given), encoding="utf-8")
    assert load_settings({}, {}, str(file)) == Settings()
    for declared in SETTINGS:  # and each one is taken from the file into its own setting
        file.write_text(f'{declared.toml} = "\\u0001x"\n', encoding="utf-8")
        try:
            assert getattr(load_settings({}, {}, str(file)), declared.name) == "\x01x"
        except ConfigError as exc:  # refused, or a secret file that cannot be read: named either way
            assert re.match(f"(invalid|cannot read) {declared.name} ", str(exc)), exc


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


def _help_records(path: tuple[str, ...]) -> dict[str, str]:
    """Each flag of the command -> its help as --help shows it (before wrapping)."""
    command = _command(path)
    context = click.Context(command, info_name=path[-1])
    records = {}
    for param in command.get_params(context):
        record = param.get_help_record(context)
        if record is not None:
            for flag in param.opts:
                records[flag] = record[1]
    return records


@pytest.mark.parametrize("path", list(COMMAND_SCOPES), ids=" ".join)
def test_help_shows_each_flag_with_its_declared_default_and_environment_name(path: tuple[str, ...]) -> None:
    records = _help_records(path)
    scope = set(ALL + COMMAND_SCOPES[path])
    for declared in SETTINGS:
        if not set(declared.scope) & scope:
            assert declared.flag not in records, f"{declared.flag} is not a flag of {' '.join(path)}"
            continue
        shown = records[declared.flag]
        assert f"[env: {declared.env}" in shown
        if declared.shown_default is None:
            assert "[default:" not in shown, declared.flag
        else:
            assert f"[default: {declared.shown_default}]" in shown, declared.flag


def test_every_declared_setting_is_a_flag_of_some_command() -> None:
    flags = {flag for path in COMMAND_SCOPES for flag in _help_records(path)}
    assert {declared.flag for declared in SETTINGS} <= flags


def test_worker_options_default_to_the_declared_settings() -> None:
    assert WorkerOptions() == worker_options(Settings())
