"""The words setting errors share, in English and Chinese: where a value came from, a reason a value
is refused, an unknown name with the known one it is closest to, a file that cannot be read.

A converter raises :func:`bad` (a ``ValueError`` whose argument is a :class:`Text`); the loader
puts :func:`reason` of it into its frame, so both languages travel together to the one place that
prints them (``cli/errors.py``). ``str()`` of each is the English, for logs and tests.
"""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.
from __future__ import annotations

import difflib
import errno
from collections.abc import Iterable

from smsworker.language import Text

NOTHING = Text.untranslated("")

# What the operating system says about a file, for the reasons a person can act on.
_OS_REASONS = {
    errno.ENOENT: Text("No such file or directory", "文件不存在"),
    errno.EACCES: Text("Permission denied", "没有读取权限"),
    errno.EPERM: Text("Operation not permitted", "没有读取权限"),
    errno.EISDIR: Text("Is a directory", "这是一个目录，不是文件"),
    errno.ENOTDIR: Text("Not a directory", "路径中有一段不是目录"),
}
NOT_UTF8 = Text("not UTF-8 text", "不是 UTF-8 文本")


def bad(en: str, zh: str) -> ValueError:
    """The ``ValueError`` a converter raises: why the value is refused, in both languages."""
    return ValueError(Text(en, zh))


def reason(exc: Exception) -> Text:
    """The reason ``exc`` carries: its :class:`Text`, or its English alone for either language."""
    said = exc.args[0] if exc.args else ""
    return said if isinstance(said, Text) else Text.untranslated(str(exc))


def source(kind: str, name: str) -> Text:
    """Where a value came from: ``kind`` is ``file``, ``environment``, ``flag`` or ``credential``."""
    words = {
        "file": ("config file", "配置文件"),
        "environment": ("environment", "环境变量"),
        "flag": ("", "参数"),
        "credential": ("credential", "systemd 凭据"),
    }
    en, zh = words[kind]
    return Text(f"{en} {name}".strip(), f"{zh} {name}")


def os_reason(exc: OSError) -> Text:
    """Why a file could not be read, as the operating system says it."""
    known = _OS_REASONS.get(exc.errno or 0)
    if known is not None:
        return known
    said = exc.strerror or str(exc)
    return Text.untranslated(said)


def cannot_read(what: str | Text, path: object, why: Text) -> Text:
    """``cannot read <what> <path>: <why>``: a secret or settings file that is not there; ``what`` is
    a setting's name, or words in both languages."""
    said = what if isinstance(what, Text) else Text(what, f" {what}")
    return Text(f"cannot read {said.en} {path}: ", f"无法读取{said.zh} {path}：") + why


def did_you_mean(word: str, known: Iterable[str]) -> Text:
    """``: did you mean 'region'?`` when one of ``known`` is close to ``word``; else nothing."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    if not close:
        return NOTHING
    return Text(f": did you mean {close[0]!r}?", f"，是不是想写 {close[0]!r}？")


def listing(items: Iterable[str | Text]) -> Text:
    """``a, b and c`` / ``a、b 和 c``."""
    texts = [item if isinstance(item, Text) else Text.untranslated(item) for item in items]
    if len(texts) < 2:
        return sum(texts, NOTHING)
    en = ", ".join(t.en for t in texts[:-1]) + " and " + texts[-1].en
    zh = "、".join(t.zh for t in texts[:-1]) + " 和 " + texts[-1].zh
    return Text(en, zh)
