"""The ``smsworker`` command: parse options, build the objects, call them, print. Nothing more."""

from __future__ import annotations

import click

from smsworker import __version__
from smsworker.cli.control_commands import campaign, cancel, pause, resume
from smsworker.cli.dashboard_command import dashboard
from smsworker.cli.dlq_commands import dlq
from smsworker.cli.enqueue_command import enqueue
from smsworker.cli.receipts_command import receipts
from smsworker.cli.stats_command import stats
from smsworker.cli.status_command import status
from smsworker.cli.worker_commands import check, drain, run


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="smsworker")
def cli() -> None:
    """Send the SMS tasks your PHP app LPUSHes to Redis, reliably.

    \b
    Producers keep doing exactly what they do today:
      $redis->lPush('sms_queue', json_encode(['template_id' => 123,
                    'mobiles' => ['13800138000'], 'content' => 'Test SMS']));

    \b
    Start with:  smsworker check            is the config valid, is Redis there?
                 smsworker run              the daemon (SIGTERM stops it cleanly)
                 smsworker stats            what is queued, in flight, dead
                 smsworker status --id ID   what became of each recipient of a task
    Every option also reads SMSWORKER_<NAME> and a TOML --config file;
    a flag beats the environment, which beats the file.
    """


for command in (
    run,
    drain,
    check,
    enqueue,
    stats,
    status,
    pause,
    resume,
    cancel,
    campaign,
    dlq,
    receipts,
    dashboard,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="smsworker")
