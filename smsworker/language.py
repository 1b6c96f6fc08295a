"""Which language a person is answered in: Chinese when their locale says so, English otherwise.

Only what a person reads and acts on is translated: setting errors, ``check``, the Redis problem
lines, the ``drain`` and ``dlq`` summaries. Log events stay English: programs read them, and one
event name per fact keeps them searchable. Each message is written in both languages where it is
raised (:class:`Text`), so a translation cannot drift from the English it translates.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# POSIX order: LC_ALL overrides LC_MESSAGES, which overrides LANG; the first one set decides.
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def reads_chinese(environ: Mapping[str, str] | None = None) -> bool:
    """True when the locale (``LANG=zh_CN.UTF-8``, ``LC_ALL=zh_TW``...) asks for Chinese."""
    env = os.environ if environ is None else environ
    for name in LOCALE_VARIABLES:
        value = env.get(name, "")
        if value:
            return value.lower().startswith("zh")
    return False


@dataclass(frozen=True)
class Text:
    """One message in both languages; ``str()`` is the English one (logs, exceptions' args)."""

    en: str
    zh: str

    @classmethod
    def untranslated(cls, words: str) -> Text:
        """The same words in both languages: a name, a value, what a server or the system said."""
        return cls(words, words)

    def __str__(self) -> str:
        return self.en

    def format(self, **values: Any) -> Text:
        """Both languages with the same ``{name}`` fields filled in; a :class:`Text` value fills
        each language with its own words."""
        return Text(
            self.en.format(**{k: v.en if isinstance(v, Text) else v for k, v in values.items()}),
            self.zh.format(**{k: v.zh if isinstance(v, Text) else v for k, v in values.items()}),
        )

    def __add__(self, other: Text) -> Text:
        return Text(self.en + other.en, self.zh + other.zh)

    def shown(self, environ: Mapping[str, str] | None = None) -> str:
        """The message in the reader's language."""
        return self.zh if reads_chinese(environ) else self.en


def say(en: str, zh: str, environ: Mapping[str, str] | None = None) -> str:
    """``en`` or ``zh``, as the reader's locale asks: for a line printed where it is written."""
    return Text(en, zh).shown(environ)
