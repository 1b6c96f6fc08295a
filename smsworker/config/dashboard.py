"""The settings of ``smsworker dashboard``: where it listens, who may log in, what it trusts."""

from __future__ import annotations

from dataclasses import dataclass

from smsworker.config import addresses, values
from smsworker.config.declare import DASHBOARD, setting


@dataclass(frozen=True)
class DashboardSettings:
    dashboard_address: str = setting(
        "127.0.0.1",
        values.nonempty,
        DASHBOARD,
        "Address the dashboard listens on (put a TLS proxy in front of it).",
    )
    dashboard_port: int = setting(
        8091, values.number(int, 1, 65535), DASHBOARD, "Port the dashboard listens on."
    )
    dashboard_users_file: str = setting(
        "",
        values.text,
        DASHBOARD,
        "The users who may log in (smsworker dashboard add-user writes it).",
        credential="dashboard_users",
    )
    # Without a key file a restart logs everyone out: the new key signs no old cookie.
    dashboard_secret_file: str = setting(
        "",
        values.text,
        DASHBOARD,
        "File holding the key (32+ characters) session cookies are signed with; without it a new key is "
        "made at each start, which logs everyone out.",
        credential="dashboard_secret",
    )
    # A page of another site, its name pointed at this address, must not read it (DNS rebinding).
    dashboard_allowed_hosts: tuple[str, ...] = setting(
        (),
        addresses.host_names,
        DASHBOARD,
        "Host names the pages are served under, comma-separated (.example.com: any name under it); IP "
        "addresses and localhost always work. Others get 400, so that no other site's page can read the "
        "dashboard through a name that points here (DNS rebinding).",
    )
    dashboard_trusted_proxies: tuple[addresses.Network, ...] = setting(
        (),
        addresses.networks,
        DASHBOARD,
        "Addresses or networks of the proxies in front, comma-separated: their X-Forwarded-For names the "
        "client (the login limit, the audit log). Without them the proxy is the client.",
    )
    dashboard_idle_timeout: float = setting(
        3600.0,
        values.number(float, 60, values.DAY_S),
        DASHBOARD,
        "Seconds a session may go unused before it ends (it ends after 12 hours in any case).",
    )
    dashboard_behind_tls: bool = setting(
        False,
        values.to_bool,
        DASHBOARD,
        "A TLS proxy serves the pages: the session cookie is marked Secure.",
        negatable=False,
    )
    dashboard_no_auth: bool = setting(
        False,
        values.to_bool,
        DASHBOARD,
        "No logins (a warning is logged); refused unless the address is loopback.",
        negatable=False,
    )
