"""The lanes: ``[lanes.<name>]`` tables of the TOML file, ``SMSWORKER_LANES_<NAME>_<KEY>`` in the
environment for a lane the file declares. Each key is declared once here with its converter; the loader
refuses any other key, and a template named by two lanes.

The order of the tables is the lanes' priority (first = highest), so lanes are declared in the file
only: the environment's order means nothing. ``default`` takes what no lane names; it comes last
unless the file places it.
"""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.
from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from smsworker.config import values, vendors
from smsworker.config.messages import bad, did_you_mean, reason, source
from smsworker.errors import ConfigError
from smsworker.language import Text

DEFAULT_LANE = "default"
LANE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
ENV_LANES = "SMSWORKER_LANES_"
_HOUR_MINUTE = r"([01][0-9]|2[0-3]):([0-5][0-9])"
_QUIET_HOURS = re.compile(f"{_HOUR_MINUTE}-{_HOUR_MINUTE}")
_RATE = re.compile(r"(?P<n>[^/\s]+)\s*(?:/\s*(?P<per>s|min))?")

_NONE = Text("none", "无")
# A lane's keys as the loader keeps them: key -> (value, where it came from).
Given = dict[str, tuple[Any, Text]]


@dataclass(frozen=True)
class LaneSettings:
    """One lane. ``templates`` are template ids as text (123 and "123" are one id); ``rate_limit`` is
    requests per second on top of the provider's; ``providers`` () = the worker's chain."""

    name: str
    templates: tuple[str, ...] = ()
    min_share: int = 10
    concurrency: int = 0
    rate_limit: float | None = None
    providers: tuple[str, ...] = ()
    quiet_hours: str | None = None

    def summary(self, worker_provider: str) -> Text:
        """The line ``smsworker check`` prints for the lane."""
        rate = f"{self.rate_limit:.10g}/s" if self.rate_limit is not None else ""
        chain = ",".join(self.providers)
        n = len(self.templates)
        worker = Text(f"the worker's ({worker_provider})", f"同 worker（{worker_provider}）")
        return Text(
            "lane {name}: {templates}, min_share {share}%, concurrency {concurrency}, rate_limit {rate}, "
            "providers {chain}, quiet_hours {quiet}",
            "通道 {name}：{templates}，min_share {share}%，concurrency {concurrency}，rate_limit {rate}，"
            "providers {chain}，quiet_hours {quiet}",
        ).format(
            name=self.name,
            templates=Text(f"{n} template{'' if n == 1 else 's'}", f"{n} 个模板"),
            share=self.min_share,
            concurrency=self.concurrency,
            rate=rate or _NONE,
            chain=chain or worker,
            quiet=self.quiet_hours or _NONE,
        )


def lane_order(lanes: Iterable[LaneSettings]) -> tuple[LaneSettings, ...]:
    """The declared lanes in file order, and ``default`` last when lanes are declared without it."""
    declared = tuple(lanes)
    if declared and all(lane.name != DEFAULT_LANE for lane in declared):
        return (*declared, LaneSettings(DEFAULT_LANE))
    return declared


def route_table(lanes: Iterable[LaneSettings]) -> dict[str, str]:
    """Template id (as text) -> the name of the lane that takes it."""
    return {template: lane.name for lane in lanes for template in lane.templates}


def _templates(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        items: list[Any] = [item for item in values.listed(value) if item]  # "1, 2"; "" is none
    elif isinstance(value, list):
        items = value
    else:
        raise bad(
            'must be a list of template ids, e.g. [123, "SMS_1"]', '必须是模板号的列表，例如 [123, "SMS_1"]'
        )
    ids: list[str] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)):
            raise bad(
                f"{item!r} is not a template id: write an integer or text",
                f"{item!r} 不是模板号：请写整数或文字",
            )
        text = values.nonempty(item)
        if text not in ids:
            ids.append(text)
    return tuple(ids)


def _rate_limit(value: Any) -> float | None:
    """50, 50.0, "50/s" or "3000/min" -> requests per second; "" -> none."""
    if isinstance(value, str) and not value.strip():
        return None
    wrong = bad("write it as 50, 50/s or 3000/min", "请写成 50、50/s 或 3000/min")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise wrong
    spec = _RATE.fullmatch(values.text(value)) if isinstance(value, str) else None
    try:
        per_s = float(spec["n"]) / (60 if spec["per"] == "min" else 1) if spec else float(value)
    except (ValueError, OverflowError):
        raise wrong from None
    if not 0 < per_s <= values.MAX_RATE_PER_S:  # also refuses nan and inf
        high = f"{values.MAX_RATE_PER_S:,}"
        raise bad(f"must be greater than 0 and at most {high}/s", f"必须大于 0，且不超过 {high}/s")
    return per_s


def _providers(value: Any) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = ",".join(value)
    if not isinstance(value, str):
        raise bad('must be a provider chain, e.g. "aliyun,tencent"', '必须是服务商链，例如 "aliyun,tencent"')
    if not value.strip():
        return ()
    return tuple(name.strip() for name in vendors.provider_chain(value).split(",") if name.strip())


def _quiet_hours(value: Any) -> str | None:
    if not isinstance(value, str):
        raise bad('must be text, e.g. "22:00-08:00"', '必须是文字，例如 "22:00-08:00"')
    text = values.text(value)
    if not text:
        return None
    hours = _QUIET_HOURS.fullmatch(text)
    if hours is None:
        raise bad("must be HH:MM-HH:MM, e.g. 22:00-08:00", "格式必须是 HH:MM-HH:MM，例如 22:00-08:00")
    if hours.group(1, 2) == hours.group(3, 4):
        raise bad("must end at another time than it starts", "结束时间不能与开始时间相同")
    return text


def _integer(low: int, high: int) -> Callable[[Any], int]:
    """An integer in [low, high]; 1.5 is refused, not cut to 1."""
    convert = values.number(int, low, high)

    def strict(value: Any) -> int:
        if isinstance(value, float) and not value.is_integer():
            raise bad("must be an integer", "必须是整数")
        whole: int = convert(value)
        return whole

    return strict


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "templates": _templates,
    "min_share": _integer(0, 100),
    "concurrency": _integer(0, 1024),
    "rate_limit": _rate_limit,
    "providers": _providers,
    "quiet_hours": _quiet_hours,
}
KEYS = tuple(CONVERTERS)


def _where(name: str) -> str:
    return f"[lanes.{name}]"


def lane_tables(value: Any, origin: Text, settings: Collection[str]) -> dict[str, Given]:
    """The file's ``[lanes]`` as the loader keeps it: lane name -> its keys (``-`` read as ``_``), in
    file order, names and keys checked; ``settings`` are the top-level names, which a key in a lane's
    table may have been meant as."""
    if not isinstance(value, Mapping):
        raise ConfigError(origin + _not_tables())
    tables: dict[str, Given] = {}
    for name, table in value.items():
        if not LANE_NAME.fullmatch(name):
            raise ConfigError(origin + _bad_name(name))
        if not isinstance(table, Mapping):
            raise ConfigError(origin + _not_tables(name))
        tables[name] = {}
        for raw, item in table.items():
            key = raw.replace("-", "_")
            if key not in CONVERTERS:
                raise ConfigError(origin + _unknown_key(name, key, settings))
            tables[name][key] = (item, origin)
    return tables


def _not_tables(name: str = "") -> Text:
    if name:
        return Text(
            f": {_where(name)} must be a table of the lane's keys ({', '.join(KEYS)})",
            f"：{_where(name)} 必须是写通道各项（{', '.join(KEYS)}）的表",
        )
    return Text(
        ": [lanes] must hold one table per lane: [lanes.<name>]",
        "：[lanes] 里只能是每个通道一个表：[lanes.<名字>]",
    )


def _bad_name(name: str) -> Text:
    return Text(
        f": invalid lane name {name!r} in [lanes]: a lane's name is 1 to 32 of a-z 0-9 _ -, starting "
        "with a letter or a digit",
        f"：[lanes] 里的通道名 {name!r} 无效：通道名由 1 到 32 个 a-z 0-9 _ - 组成，以字母或数字开头",
    )


def _unknown_key(name: str, key: str, settings: Collection[str]) -> Text:
    where = _where(name)
    said = Text(f": unknown key {key!r} in {where}", f"：{where} 表里没有 {key!r} 这一项")
    close = did_you_mean(key, KEYS)  # first: 'provider' in a lane's table is its 'providers'
    if close.en:
        return said + close
    if key in settings:  # in TOML a line belongs to the table above it
        return said + Text(
            f": {key} is a setting of its own; put it above the first table of the file",
            f"：{key} 是独立的设置，请写在文件里第一个表之前",
        )
    return said + Text(f" (it takes {', '.join(KEYS)})", f"（可以写的有 {', '.join(KEYS)}）")


def lanes_from_env(environ: Mapping[str, str], tables: dict[str, Given]) -> None:
    """``SMSWORKER_LANES_<NAME>_<KEY>`` over the file's key; ``<NAME>`` is a lane the file declares
    (or ``default`` when it declares any), upper case, ``-`` written ``_``."""
    for env_name in sorted(name for name in environ if name.startswith(ENV_LANES)):
        rest = env_name[len(ENV_LANES) :]
        origin = source("environment", env_name)
        known = [*tables, DEFAULT_LANE] if tables else []
        named = [lane for lane in known if rest.startswith(lane.upper().replace("-", "_") + "_")]
        keyed = [lane for lane in named if _env_key(rest, lane) in CONVERTERS]
        if not named:
            raise ConfigError(origin + _not_declared())
        lane = max(keyed or named, key=len)
        key = _env_key(rest, lane)
        if key not in CONVERTERS:
            raise ConfigError(origin + _unknown_key(lane, key, ()))
        given = tables.setdefault(lane, {})
        if environ[env_name]:
            given[key] = (environ[env_name], origin)
        else:  # empty: the key's default, whatever the file says
            given.pop(key, None)


def _env_key(rest: str, lane: str) -> str:
    return rest[len(lane) + 1 :].lower()


def _not_declared() -> Text:
    return Text(
        ": names no lane the config file declares (lanes are [lanes.<name>] tables of the file, "
        "whose order is their priority; the environment sets their keys: SMSWORKER_LANES_<NAME>_<KEY>)",
        "：配置文件里没有声明这个通道（通道是配置文件里的 [lanes.<名字>] 表，表的先后即优先级；"
        "环境变量只能设置其中的项：SMSWORKER_LANES_<名字>_<项>）",
    )


def build_lanes(tables: Mapping[str, Given]) -> tuple[LaneSettings, ...]:
    """The lanes in declared order, each key converted; ``ConfigError`` naming the lane and the key,
    or the two lanes that name one template."""
    lanes = tuple(_lane(name, given) for name, given in tables.items())
    owner: dict[str, str] = {}
    for lane in lanes:
        for template in lane.templates:
            first = owner.setdefault(template, lane.name)
            if first != lane.name:
                raise ConfigError(tables[lane.name]["templates"][1] + _twice(template, first, lane.name))
    return lanes


def _lane(name: str, given: Given) -> LaneSettings:
    converted = {}
    for key, (value, origin) in given.items():
        try:
            converted[key] = CONVERTERS[key](value)
        except ValueError as exc:
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
            raise ConfigError(
                origin
                + Text(
                    f": invalid {key} {shown} in {_where(name)}: ",
                    f"：{_where(name)} 里的 {key} {shown} 无效：",
                )
                + reason(exc)
            ) from None
    return LaneSettings(name, **converted)


def _twice(template: str, first: str, second: str) -> Text:
    return Text(
        f": template {template} is in {_where(first)} and {_where(second)}: a template goes to one lane",
        f"：模板 {template} 同时写在 {_where(first)} 和 {_where(second)} 里：一个模板只能属于一个通道",
    )
