"""Each English page and its Chinese translation say the same things in the same places.

A Chinese PHP developer copies commands, flags and setting names from ``README.zh-CN.md``; a
translation that fell behind its English page sends them to a flag that was renamed or a section
that no longer exists. The prose is translated freely, so what is compared is what must not differ:
the headings at each level in order, the code blocks (their comments and descriptions aside), every
``--flag``, ``SMSWORKER_*`` name and TOML setting name mentioned, and the links between the two."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from smsworker.config.schema import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
PAIRS = [
    ("README.md", "README.zh-CN.md"),
    ("contrib/php-producer/README.md", "contrib/php-producer/README.zh-CN.md"),
    ("systemd/README.md", "systemd/README.zh-CN.md"),
    ("docs/production.md", "docs/production.zh-CN.md"),
]
FENCE = re.compile(r"^(\s*)```(\w*)\s*$")
FLAG = re.compile(r"(?<![\w-])--(?:\[no-\])?[a-z][a-z0-9-]*[a-z0-9]")
ENV = re.compile(r"\bSMSWORKER_[A-Z0-9_]*[A-Z0-9]")
QUOTED = re.compile(r"`([a-z_][a-z0-9_.-]*)")
TOML_NAMES = {declared.toml for declared in SETTINGS}
# A comment runs from '//' (PHP) or '#' (shell, TOML) at a line's start or after a space, so that
# 'tcp://' and '{"#": 1}' stay code.
PHP_COMMENT = re.compile(r"(^|\s)//.*$")
HASH_COMMENT = re.compile(r"(^|\s)#.*$")
# In a block without a language (the CLI overview, the source tree), what follows a run of two spaces
# is a description, and a line indented this deep continues one.
DESCRIPTION = re.compile(r"(?<=\S) {2,}.*$")
CONTINUATION = " " * 8


def read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def prose_and_blocks(text: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The lines outside code blocks, and each code block as (language, lines)."""
    prose: list[str] = []
    blocks: list[tuple[str, list[str]]] = []
    current: tuple[str, list[str]] | None = None
    for line in text.splitlines():
        fence = FENCE.match(line)
        if fence and current is None:
            current = (fence.group(2), [])
        elif fence and current is not None:
            blocks.append(current)
            current = None
        elif current is not None:
            current[1].append(line)
        else:
            prose.append(line)
    assert current is None, "a code block is not closed"
    return prose, blocks


def headings(text: str) -> list[int]:
    """The level of each heading, in order (``#`` lines inside code blocks are comments)."""
    prose, _ = prose_and_blocks(text)
    return [len(match.group(1)) for line in prose if (match := re.match(r"(#{1,6}) \S", line))]


def normalized(language: str, lines: list[str]) -> list[str]:
    """A block's code without its comments, descriptions, trailing spaces and blank lines."""
    comment = PHP_COMMENT if language == "php" else HASH_COMMENT
    code = []
    for line in lines:
        if not language:
            if line.startswith(CONTINUATION):
                continue
            line = DESCRIPTION.sub("", line)
        line = comment.sub("", line).rstrip()
        if line.strip():
            code.append(line)
    return code


def code_blocks(text: str) -> list[tuple[str, list[str]]]:
    return [(language, normalized(language, lines)) for language, lines in prose_and_blocks(text)[1]]


# Names are counted, not just collected: a translation that drops one of three mentions of a flag
# has dropped a sentence that tells of it.
def flags(text: str) -> Counter[str]:
    return Counter(flag.replace("[no-]", "") for flag in FLAG.findall(text))


def env_names(text: str) -> Counter[str]:
    return Counter(ENV.findall(text))


def toml_names(text: str) -> Counter[str]:
    """Declared TOML names the page mentions, in backquotes or as ``name =`` in a block."""
    quoted = Counter(name for name in QUOTED.findall(text) if name in TOML_NAMES)
    assigned = Counter(
        name
        for _, lines in prose_and_blocks(text)[1]
        for line in lines
        if (name := line.split("=")[0].strip()) in TOML_NAMES
    )
    return quoted + assigned


def links_to(text: str, partner: str) -> bool:
    return re.search(rf"\]\((\./)?{re.escape(partner)}(#[^)]*)?\)", text) is not None


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    prose, _ = prose_and_blocks(text)
    seen: dict[str, int] = {}
    found = set()
    for line in prose:
        match = re.match(r"#{1,6} (.+)$", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


PAIR_IDS = [english for english, _ in PAIRS]


@pytest.mark.parametrize(("english", "chinese"), PAIRS, ids=PAIR_IDS)
def test_the_same_headings_in_the_same_order(english: str, chinese: str) -> None:
    assert headings(read(chinese)) == headings(read(english))


@pytest.mark.parametrize(("english", "chinese"), PAIRS, ids=PAIR_IDS)
def test_the_same_code_blocks(english: str, chinese: str) -> None:
    assert code_blocks(read(chinese)) == code_blocks(read(english))


@pytest.mark.parametrize(("english", "chinese"), PAIRS, ids=PAIR_IDS)
def test_the_same_flags_environment_and_toml_names(english: str, chinese: str) -> None:
    theirs, ours = read(english), read(chinese)
    for names in (flags, env_names, toml_names):
        # What the English page mentions more often, then what the Chinese page does.
        assert (names(theirs) - names(ours), names(ours) - names(theirs)) == (Counter(), Counter())


@pytest.mark.parametrize(("english", "chinese"), PAIRS, ids=PAIR_IDS)
def test_each_page_links_to_its_partner(english: str, chinese: str) -> None:
    assert links_to(read(english), Path(chinese).name)
    assert links_to(read(chinese), Path(english).name)


@pytest.mark.parametrize("name", [name for pair in PAIRS for name in pair])
def test_every_link_within_a_page_names_one_of_its_headings(name: str) -> None:
    text = read(name)
    targets = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert sorted(targets - anchors(text)) == []


@pytest.mark.parametrize("name", [name for pair in PAIRS for name in pair])
def test_every_page_a_page_links_to_exists_with_the_heading_named(name: str) -> None:
    page = ROOT / name
    broken = []
    for target, anchor in re.findall(r"\]\(((?!https?:|#)[^)#\s]+)(?:#([^)\s]+))?\)", read(name)):
        path = page.parent / target
        if not path.exists() or (anchor and anchor not in anchors(path.read_text(encoding="utf-8"))):
            broken.append(f"{target}#{anchor}" if anchor else target)
    assert broken == []


def test_both_readmes_start_with_a_table_of_contents_and_the_quick_start() -> None:
    for name, quick in [("README.md", "#quick-start"), ("README.zh-CN.md", "#快速上手")]:
        text = read(name)
        first_section = text.index("\n## ")
        assert f"]({quick})" in text[:first_section], name
        assert slug(text[first_section + 4 :].splitlines()[0]) == quick[1:], name


# The checks above must see a drift, or they prove nothing: each is fed a translation that fell behind.
ENGLISH_README = read("README.md")


def test_a_missing_heading_is_seen() -> None:
    dropped = ENGLISH_README.replace("\n### Sizing\n", "\n", 1)
    assert headings(dropped) != headings(ENGLISH_README)


def test_a_changed_command_is_seen_but_not_a_translated_comment() -> None:
    translated = ENGLISH_README.replace("# installs what it needs", "# 先装好所需的一切", 1)
    assert code_blocks(translated) == code_blocks(ENGLISH_README)
    changed = ENGLISH_README.replace("make demo   #", "make demo2   #", 1)
    assert code_blocks(changed) != code_blocks(ENGLISH_README)


def test_a_translated_description_in_the_cli_overview_is_not_a_change() -> None:
    overview = "smsworker stats      [--json] [--watch]   queue, processing\n                     (refreshes)"
    chinese = "smsworker stats      [--json] [--watch]   队列、处理中\n                     (实时刷新)"
    assert normalized("", overview.splitlines()) == normalized("", chinese.splitlines())
    assert normalized("", overview.splitlines()) == ["smsworker stats"]


def test_php_comments_are_not_urls() -> None:
    line = "$queue = new SmsQueue(new \\Predis\\Client('tcp://127.0.0.1:6379'));   // Predis"
    assert normalized("php", [line]) == [line.split("   //")[0]]


def test_a_missing_flag_environment_or_toml_name_is_seen() -> None:
    assert flags("use `--receipts-pull`, `--[no-]mask-mobiles` and --receipts-pull") == Counter(
        {"--receipts-pull": 2, "--mask-mobiles": 1}
    )
    assert env_names("`SMSWORKER_REDIS_URL`, or SMSWORKER_<NAME>") == Counter(["SMSWORKER_REDIS_URL"])
    assert toml_names('`redis_url`, `concurrency = 16`\n```toml\nqueue = "a"\n```') == Counter(
        ["redis_url", "concurrency", "queue"]
    )
    # Drop the first flag the page mentions: the count must see it, whichever line it is on.
    first = re.search(r"--[a-z][a-z-]+", ENGLISH_README)
    assert first
    dropped = ENGLISH_README[: first.start()] + ENGLISH_README[first.end() :]
    assert flags(dropped) != flags(ENGLISH_README)


def test_a_missing_link_is_seen() -> None:
    assert links_to("[中文](README.zh-CN.md)", "README.zh-CN.md")
    assert not links_to("[中文](README.md)", "README.zh-CN.md")


def test_anchors_are_githubs() -> None:
    assert slug("Upgrading from the layout before 0.2") == "upgrading-from-the-layout-before-02"
    assert slug("`smsworker` 的 10 分钟快速上手") == "smsworker-的-10-分钟快速上手"
