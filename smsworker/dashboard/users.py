"""The dashboard's users: one ``name:role:hash`` line each, in a file only its owner may read.

The hash is werkzeug's (scrypt, salted), the kind ``smsworker dashboard add-user`` writes; roles are
``viewer`` (reads, numbers masked) and ``operator`` (also replays and purges, sees whole numbers).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from smsworker.errors import ConfigError

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
        raise ConfigError(f"cannot read dashboard_users_file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"cannot read dashboard_users_file {path}: not UTF-8 text") from None
    users: dict[str, tuple[str, str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        name, _, rest = line.partition(":")
        role, _, hashed = rest.partition(":")
        if not NAME.fullmatch(name) or role not in ROLES or not hashed:
            raise ConfigError(
                f"dashboard_users_file {path}, line {number}: not name:role:hash "
                "(make users with `smsworker dashboard add-user`)"
            )
        users[name] = (role, hashed)
    return users


def authenticate(users: dict[str, tuple[str, str]], name: str, password: str) -> User | None:
    role, hashed = users.get(name, ("", _DUMMY))
    if check_password_hash(hashed, password) and role:
        return User(name, role)
    return None


def add_user(path: str, name: str, role: str, password: str) -> bool:
    """Add ``name`` (or set its role and password); True if it was new. The file is replaced whole
    (a crash leaves the old one) and readable by its owner only."""
    if not NAME.fullmatch(name):
        raise ConfigError(f"invalid user name {name!r}: 1-64 of A-Z a-z 0-9 . _ @ -")
    if role not in ROLES:
        raise ConfigError(f"invalid role {role!r}: one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"the password is too short: at least {MIN_PASSWORD} characters")
    users = load_users(path) if Path(path).exists() else {}
    new = name not in users
    users[name] = (role, generate_password_hash(password))
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
    return new
