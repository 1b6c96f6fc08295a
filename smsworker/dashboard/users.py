"""The dashboard's users: one ``name:role:hash`` line each, in a file only its owner may read.

The hash is werkzeug's (scrypt, salted), the kind ``smsworker dashboard add-user`` writes; roles are
``viewer`` (reads, numbers masked) and ``operator`` (also replays and purges, sees whole numbers).
The running dashboard reads the file again whenever it changes (``UsersFile``): a user removed,
demoted or given a new password is so at the next request, and their sessions end (``sessions.py``).
"""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.

from __future__ import annotations

import hashlib
import hmac
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from smsworker.config.messages import NOT_UTF8, cannot_read, os_reason
from smsworker.errors import ConfigError
from smsworker.language import Text

ROLES = ("viewer", "operator")
NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")
MIN_PASSWORD = 12
# Checked when the name is unknown, so that a wrong name costs the same time as a wrong password.
_DUMMY = generate_password_hash("not a password of anyone's")


@dataclass(frozen=True)
class User:
    name: str
    role: str

    @property
    def may_act(self) -> bool:
        """Replay, purge, and see whole numbers."""
        return self.role == "operator"


def load_users(path: str) -> dict[str, tuple[str, str]]:
    """name -> (role, hash); ``ConfigError`` naming the file and line for anything else."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(cannot_read("dashboard_users_file", path, os_reason(exc))) from None
    except UnicodeDecodeError:
        raise ConfigError(cannot_read("dashboard_users_file", path, NOT_UTF8)) from None
    users: dict[str, tuple[str, str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        name, _, rest = line.partition(":")
        role, _, hashed = rest.partition(":")
        if not NAME.fullmatch(name) or role not in ROLES or not hashed:
            raise ConfigError(
                Text(
                    f"dashboard_users_file {path}, line {number}: not name:role:hash "
                    "(make users with `smsworker dashboard add-user`)",
                    f"dashboard_users_file {path} 第 {number} 行不是 name:role:hash 格式"
                    "（请用 `smsworker dashboard add-user` 添加用户）",
                )
            )
        users[name] = (role, hashed)
    return users


def line_digest(key: bytes, name: str, role: str, hashed: str) -> str:
    """A keyed digest of a user's line: it changes when the role or the password does. What a
    session is checked against (``sessions.py``)."""
    return hmac.new(key, f"{name}:{role}:{hashed}".encode(), hashlib.sha256).hexdigest()


class UsersFile:
    """The users file as it is now: read again when it changes on disk (its inode, size or time).
    A file that cannot be read any more lets nobody in (logged once per change), rather than the
    users it had."""

    def __init__(self, path: str, log: Any = None) -> None:
        self.path = path
        self._log = log
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int] | None = None
        self._users = load_users(path)  # at start, a bad file stops the command: ConfigError
        self._seen = self._stamp()

    def users(self) -> dict[str, tuple[str, str]]:
        with self._lock:
            stamp = self._stamp()
            if stamp != self._seen:
                self._seen = stamp
                try:
                    self._users = load_users(self.path)
                except ConfigError as exc:
                    self._users = {}
                    if self._log is not None:
                        self._log.error(
                            "dashboard.users_unreadable", error=str(exc), note="nobody may log in"
                        )
            return self._users

    def digest(self, name: str, key: bytes) -> str | None:
        """``line_digest`` of the user's line as it is now; None once the user is gone."""
        found = self.users().get(name)
        return None if found is None else line_digest(key, name, *found)

    def _stamp(self) -> tuple[int, int, int]:
        try:
            found = os.stat(self.path)
        except OSError:
            return (0, 0, 0)
        return (found.st_ino, found.st_size, found.st_mtime_ns)


def authenticate(users: dict[str, tuple[str, str]], name: str, password: str) -> User | None:
    role, hashed = users.get(name, ("", _DUMMY))
    if check_password_hash(hashed, password) and role:
        return User(name, role)
    return None


def add_user(path: str, name: str, role: str, password: str) -> bool:
    """Add ``name`` (or set its role and password); True if it was new. The file is replaced whole
    (a crash leaves the old one) and readable by its owner only."""
    if not NAME.fullmatch(name):
        raise ConfigError(
            Text(
                f"invalid user name {name!r}: 1-64 of A-Z a-z 0-9 . _ @ -",
                f"用户名 {name!r} 无效：只能用 1-64 个 A-Z a-z 0-9 . _ @ -",
            )
        )
    if role not in ROLES:
        roles = ", ".join(ROLES)
        raise ConfigError(
            Text(f"invalid role {role!r}: one of {roles}", f"角色 {role!r} 无效：只能是 {roles} 之一")
        )
    if len(password) < MIN_PASSWORD:
        raise ConfigError(
            Text(
                f"the password is too short: at least {MIN_PASSWORD} characters",
                f"密码太短：至少要 {MIN_PASSWORD} 个字符",
            )
        )
    users = load_users(path) if Path(path).exists() else {}
    new = name not in users
    users[name] = (role, generate_password_hash(password))
    _write(path, users)
    return new


def remove_user(path: str, name: str) -> bool:
    """Remove ``name``; False if it was not there. A running dashboard ends its sessions at once."""
    users = load_users(path)
    if users.pop(name, None) is None:
        return False
    _write(path, users)
    return True


def _write(path: str, users: dict[str, tuple[str, str]]) -> None:
    """Replace the file whole (a crash leaves the old one), readable by its owner only."""
    lines = "".join(f"{n}:{r}:{h}\n" for n, (r, h) in sorted(users.items()))
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".users-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(lines)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
