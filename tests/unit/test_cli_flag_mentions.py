"""A flag a command's help text points to is a flag of that command.

``receipts --help`` once sent users to ``--metrics-address`` and ``--rate-limit``, which only the
worker's commands took: "No such option". This reads every command's help, whole, and checks each
``--flag`` it names against the command's own options."""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
import pytest

from smsworker.cli import cli

# Flags of another command that a help text names on purpose, saying whose they are.
ELSEWHERE = {
    ("status", "--receipt-ttl"),  # "the workers' --receipt-ttl"
    ("receipts", "--receipt-ttl"),
    ("cancel", "--receipt-ttl"),  # "kept for the workers' --receipt-ttl"
    ("campaign list", "--receipt-ttl"),
    ("campaign cancel", "--receipt-ttl"),  # "the workers then keep each task's bytes ... (--receipt-ttl)"
}
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*[a-z0-9]")


def commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> Iterator[tuple[str, click.Command]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


def help_text(name: str, command: click.Command) -> str:
    # Wide enough that no flag is cut at a line's end.
    ctx = click.Context(command, info_name=name, max_content_width=10_000, terminal_width=10_000)
    return command.get_help(ctx)


@pytest.mark.parametrize(("name", "command"), list(commands()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_flag_a_help_names_is_an_option_of_its_command(name: str, command: click.Command) -> None:
    own = {"--help"} | {
        opt for param in command.params for opt in [*getattr(param, "opts", []), *param.secondary_opts]
    }
    named = set(FLAG.findall(help_text(name, command)))
    assert sorted(flag for flag in named - own if (name, flag) not in ELSEWHERE) == []


def test_the_scan_finds_flags_in_prose() -> None:
    assert FLAG.findall("paced by --rate-limit aliyun.pull=10/s (at --metrics-address).") == [
        "--rate-limit",
        "--metrics-address",
    ]
