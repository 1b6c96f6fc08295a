"""``smsworker dashboard``: the operator's web pages; ``add-user`` and ``remove-user``: who may log in."""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from smsworker.app import build_logger, open_queue, wait_for_redis
from smsworker.cli.errors import friendly_errors
from smsworker.cli.options import common_options, dashboard_options, setting_option, settings_from
from smsworker.config.lanes import lane_order
from smsworker.config.settings import Settings
from smsworker.errors import ConfigError, StartupError
from smsworker.language import Text

if TYPE_CHECKING:
    from smsworker.dashboard.users import UsersFile

MAX_REQUEST = 64 * 1024


@click.group(invoke_without_command=True)
@common_options
@dashboard_options
@click.pass_context
def dashboard(ctx: click.Context, /, **flags: Any) -> None:
    """Serve the web dashboard (overview, workers, dead letters, status lookup) until SIGTERM.

    \b
    Logins are required: make users first with
      smsworker dashboard add-user NAME --role viewer|operator --dashboard-users-file FILE
    viewer: reads, numbers masked.  operator: also replays and purges, sees whole numbers.
    Sessions live in Redis: removing a user (remove-user), a new role or password, logging out
    end them at once. It listens on --dashboard-address and --dashboard-port (loopback unless
    told otherwise); put a TLS proxy in front of it and give --dashboard-behind-tls (Secure
    cookies), --dashboard-allowed-hosts (the name it is served under) and
    --dashboard-trusted-proxies (whose X-Forwarded-For to believe). --dashboard-no-auth
    (loopback only) drops the logins.
    English and Simplified Chinese: ?lang=en|zh, or the browser's language.
    """
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_from(flags)
    with friendly_errors(settings):
        log = build_logger(settings)
        users = _users(settings, log)
        server = _server(settings, users, log)
    log.info(
        "dashboard.listening",
        address=settings.dashboard_address,
        port=settings.dashboard_port,
        users=len(users.users()) if users is not None else 0,
        auth=not settings.dashboard_no_auth,
    )
    server.run()


def _users(settings: Settings, log: Any) -> UsersFile | None:
    """Who may log in; None when no one needs to (dashboard_no_auth, loopback only)."""
    from smsworker.dashboard.users import UsersFile

    if settings.dashboard_no_auth:
        note = "no logins: anyone who can reach this address may replay and purge"
        log.warning("dashboard.no_auth", address=settings.dashboard_address, note=note)
        return None
    if not settings.dashboard_users_file:
        raise ConfigError(
            Text(
                "smsworker dashboard needs dashboard_users_file (make one with `smsworker dashboard "
                "add-user`), or dashboard_no_auth on a loopback address",
                "smsworker dashboard 需要 dashboard_users_file（用 `smsworker dashboard add-user` 创建），"
                "或者在回环地址上设置 dashboard_no_auth",
            )
        )
    users = UsersFile(settings.dashboard_users_file, log)
    if not users.users():
        raise ConfigError(
            Text(
                f"dashboard_users_file {settings.dashboard_users_file} has no users",
                f"dashboard_users_file {settings.dashboard_users_file} 里没有用户",
            )
        )
    return users


def _server(settings: Settings, users: UsersFile | None, log: Any) -> Any:
    """The pages on the queue, served at the dashboard's address once Redis answers."""
    # Only here: the workers never carry Flask or waitress.
    from smsworker.cli.web_server import create_server
    from smsworker.dashboard.app import DashboardConfig, make_app

    queue = wait_for_redis(lambda: open_queue(settings, log), log, stop=threading.Event())
    if queue is None:  # not reached: nothing sets the event
        raise StartupError("Redis did not answer")
    config = DashboardConfig(
        users,
        no_auth=settings.dashboard_no_auth,
        secret=(settings.dashboard_secret or "").encode(),
        behind_tls=settings.dashboard_behind_tls,
        region=settings.default_region,
        allowed_hosts=settings.dashboard_allowed_hosts,
        trusted_proxies=settings.dashboard_trusted_proxies,
        idle_timeout_s=settings.dashboard_idle_timeout,
        receipt_ttl_s=settings.receipt_ttl,
        providers=tuple(name.strip() for name in settings.provider.split(",") if name.strip()),
        lanes=tuple(lane.name for lane in lane_order(settings.lanes)),
    )
    return create_server(
        make_app(queue, config, log),
        settings.dashboard_address,
        settings.dashboard_port,
        max_body=MAX_REQUEST,
        threads=4,
        flags="dashboard",
    )


@dashboard.command("add-user")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["viewer", "operator"]),
    default="viewer",
    show_default=True,
    help="viewer: reads, numbers masked; operator: also replays and purges.",
)
@setting_option("dashboard_users_file")
def add_user(name: str, role: str, dashboard_users_file: str | None) -> None:
    """Add a user to the dashboard's users file (or change its role and password).

    The password is asked for twice on a terminal, else read as one line from stdin. The file keeps
    a salted hash only, and is made readable by its owner alone.
    """
    from smsworker.dashboard.users import add_user as add

    settings = settings_from({"dashboard_users_file": dashboard_users_file})
    path = settings.dashboard_users_file
    if not path:
        raise click.UsageError("give --dashboard-users-file (or SMSWORKER_DASHBOARD_USERS_FILE)")
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    with friendly_errors(settings):
        new = add(path, name, role, password)
    click.echo(f"{'added' if new else 'updated'} {name} ({role}) in {Path(path)}")
    if not new:
        click.echo("their sessions end at their next request: a new password or role takes effect at once")


@dashboard.command("remove-user")
@click.argument("name")
@setting_option("dashboard_users_file")
def remove_user(name: str, dashboard_users_file: str | None) -> None:
    """Remove a user from the dashboard's users file; their sessions end at their next request."""
    from smsworker.dashboard.users import remove_user as remove

    settings = settings_from({"dashboard_users_file": dashboard_users_file})
    path = settings.dashboard_users_file
    if not path:
        raise click.UsageError("give --dashboard-users-file (or SMSWORKER_DASHBOARD_USERS_FILE)")
    with friendly_errors(settings):
        if not remove(path, name):
            raise ConfigError(Text(f"no user {name!r} in {path}", f"{path} 里没有用户 {name!r}"))
    click.echo(f"removed {name} from {Path(path)}; their sessions have ended")
