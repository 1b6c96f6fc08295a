"""What a command was told to reach, as the settings name it: sentinels and the primary's name, the
seed nodes of a Redis Cluster, or one server's URL. Messages say this, not a URL that went unused."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

from smsworker.redact import redact_url

Address = tuple[str, int]


@dataclass(frozen=True)
class RedisTarget:
    """``url`` is shown with its password hidden; ``secrets`` (never shown, never in ``repr``) are
    what else must be hidden in whatever a server or redis-py says about the target."""

    url: str
    sentinels: tuple[Address, ...] = ()
    master: str = ""
    cluster: tuple[Address, ...] = ()
    secrets: tuple[str, ...] = dataclasses.field(default=(), repr=False, compare=False)

    @classmethod
    def of(
        cls,
        url: str,
        *,
        sentinels: tuple[Address, ...] = (),
        master: str = "",
        cluster: tuple[Address, ...] = (),
        password: str | None = None,
    ) -> RedisTarget:
        """The target a user's settings name; the URL's password and ``password`` are kept secret."""
        # The longest first: a secret that holds another is hidden whole.
        secrets = sorted({password or "", *_url_password(url)} - {""}, key=len, reverse=True)
        return cls(redact_url(url), sentinels, master, cluster, tuple(secrets))

    @property
    def kind(self) -> Literal["sentinel", "cluster", "url"]:
        """How the server is found: sentinels and cluster nodes, when given, are used, not the URL."""
        if self.sentinels:
            return "sentinel"
        return "cluster" if self.cluster else "url"

    def hide(self, text: str) -> str:
        """``text`` with URL passwords and this target's secrets replaced by ``***``."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return redact_url(text)


def _url_password(url: str) -> tuple[str, ...]:
    """The URL's password as written and percent-decoded (an error may quote either). With an '@'
    after it, in the password or in the host, both readings: the longer is hidden first."""
    userinfo = url.partition("//")[2].rpartition("@")[0]
    user, colon, password = userinfo.partition(":")
    readings = {password, password.partition("@")[0]} if colon else {user}  # a token alone is secret too
    return tuple({form for reading in readings for form in (reading, unquote(reading)) if form})
