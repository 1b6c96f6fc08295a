"""A Redis problem as one line in the reader's language: what was tried (the sentinels and the
primary's name, a cluster's seed nodes, or the URL with its password hidden), what happened in a few
words, and what to do. Every command prints its Redis problems through ``redis_problem``.

What redis-py says is quoted only in part: its errors can hold the representation of whole
connection pools (a thousand characters of ``<redis.client.Redis(...)>``), which tells a user
nothing.
"""
# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.

from __future__ import annotations

import re

from smsworker.language import Text
from smsworker.store.errors import (
    AuthenticationError,
    Detailed,
    IsASentinel,
    MovedError,
    NoClusterNodeAnswered,
    NoPermissionError,
    NoSentinelAnswered,
    NotAClusterNode,
    NotASentinel,
    PrimaryDown,
    PrimaryUnknown,
    RedisConnectionError,
    RedisError,
    RedisTimeoutError,
    ResponseError,
)
from smsworker.store.target import Address, RedisTarget

# The most of anyone else's words a line quotes: a server's error, redis-py's, a name the user gave.
SAID_MAX = 60
NAME_MAX = 40
URL_MAX = 80
ADDRESS_MAX = 50
NODES_SHOWN = 3
_REPR = re.compile(r"<[^<>]*>")
_SPACE = re.compile(r"\s+")
# What Redis adds to "unknown command 'X'": the arguments, which say nothing more.
_ARGS = ", with args beginning with:"
# What a line is made of: where, nodes, master, flag, said (a ``Text`` where languages differ).
Facts = dict[str, "str | Text"]
# The flag that names what was tried, for each way of finding the server.
_FLAG = {"sentinel": "--sentinel", "cluster": "--redis-cluster", "url": "--redis-url"}


def redis_problem(exc: RedisError, target: RedisTarget | None = None) -> Text:
    """One line for ``exc``, met while using ``target`` (None: what was tried is not known)."""
    target = target or RedisTarget("")
    facts: Facts = {
        "where": describe_target(target),
        "nodes": _nodes(target.sentinels or target.cluster) if target.kind != "url" else _url(target),
        "master": clip(target.master, NAME_MAX),
        "flag": _FLAG[target.kind],
        "said": said(exc, target),
        "address": _address(exc, target),
    }
    return _line_for(exc, target.kind).format(**facts)


def describe_target(target: RedisTarget) -> Text:
    """What was tried, as a line names it: the primary and its sentinels, cluster nodes, or the URL."""
    if target.kind == "url":
        return _URL.format(url=_url(target)) if target.url else Text.untranslated("Redis")
    nodes = _nodes(target.sentinels or target.cluster)
    if target.kind == "cluster":
        return _CLUSTER.format(nodes=nodes)
    return _SENTINELS.format(nodes=nodes, master=clip(target.master, NAME_MAX))


def said(exc: BaseException, target: RedisTarget) -> str:
    """What ``exc`` says, made fit to quote: no object representations, no secret, one short line."""
    text = exc.detail if isinstance(exc, Detailed) else str(exc)
    text = text.partition(_ARGS)[0]
    while _REPR.search(text):
        text = _REPR.sub("", text)
    return clip(target.hide(text), SAID_MAX).rstrip(" .") or type(exc).__name__


def clip(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters (with an ellipsis when cut)."""
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _line_for(exc: RedisError, kind: str) -> Text:
    """The line for ``exc``: by its type; else by what the server said; else by how it was sought."""
    for failure, line in _BY_TYPE:
        if isinstance(exc, failure):
            return line
    text = str(exc)
    if "WRONGPASS" in text or "NOAUTH" in text:
        return _CREDENTIALS
    if "DB index is out of range" in text or "invalid db" in text.lower():
        return _NO_DATABASE
    if isinstance(exc, RedisConnectionError):
        return _UNREACHABLE[kind]
    if not isinstance(exc, ResponseError):
        return _FAILED
    return _ANSWERED + next((hint for code, hint in _HINTS.items() if _is(exc, code)), Text.untranslated(""))


def _is(exc: RedisError, code: str) -> bool:
    """Whether ``exc`` is the server's ``code`` of error (redis-py strips the codes it knows)."""
    known = {"MOVED": MovedError, "NOPERM": NoPermissionError}.get(code)
    return isinstance(exc, known) if known else str(exc).startswith(code)


def _address(exc: RedisError, target: RedisTarget) -> str:
    """The one server an error is about, when it names one."""
    if not isinstance(exc, NotASentinel | IsASentinel):
        return ""
    return clip(target.hide(exc.address), ADDRESS_MAX)


def _url(target: RedisTarget) -> str:
    return clip(target.url, URL_MAX) or "Redis"


def _nodes(addresses: tuple[Address, ...]) -> Text:
    shown = ", ".join(clip(f"{host}:{port}", ADDRESS_MAX) for host, port in addresses[:NODES_SHOWN])
    hidden = len(addresses) - NODES_SHOWN
    if hidden <= 0:
        return Text.untranslated(shown)
    return Text(f"{shown} and {hidden} more", f"{shown} 等 {len(addresses)} 个")


# What was tried.
_SENTINELS = Text(
    "the primary '{master}' found by the sentinels {nodes}", "哨兵 {nodes} 给出的主节点 '{master}'"
)
_CLUSTER = Text("the Redis Cluster nodes {nodes}", "Redis Cluster 节点 {nodes}")
_URL = Text("Redis at {url}", "Redis（{url}）")

# What happened, and what to do. Fields: {where} (what was tried), {nodes} (the sentinels, the
# cluster's nodes or the URL), {master}, {flag} (the flag that names them), {said} (the server's or
# redis-py's words, in part), {address} (the one server an error names).
_NOT_A_SENTINEL = Text(
    "is {address} a Sentinel? --sentinel points at a server that refused SENTINEL ({said}): "
    "for a plain Redis server use --redis-url, for a cluster node --redis-cluster",
    "{address} 是哨兵吗？--sentinel 指向的服务器不认 SENTINEL 命令（{said}）："
    "普通 Redis 服务器请用 --redis-url，集群节点请用 --redis-cluster",
)
_IS_A_SENTINEL = Text(
    "{where} is a Sentinel, which holds no data: give it as --sentinel {address} "
    "(and the primary's name as --sentinel-master), not as --redis-url",
    "{where} 是哨兵，哨兵不存数据：请用 --sentinel {address} 指定它"
    "（主节点名用 --sentinel-master），不要用 --redis-url",
)
_NO_SENTINEL = Text(
    "no sentinel answered at {nodes} ({said}): are they running? Check --sentinel (host:port each)",
    "哨兵 {nodes} 都连不上（{said}）：哨兵在运行吗？请检查 --sentinel（每个写成 host:port）",
)
_PRIMARY_UNKNOWN = Text(
    "no sentinel at {nodes} knows a primary named '{master}': check --sentinel-master "
    "(SENTINEL MASTERS on a sentinel lists the names)",
    "哨兵 {nodes} 都不知道名为 '{master}' 的主节点：请检查 --sentinel-master"
    "（在哨兵上执行 SENTINEL MASTERS 可列出名字）",
)
_PRIMARY_DOWN = Text(
    "the sentinels at {nodes} say the primary '{master}' is down: wait for their failover, "
    "or start its server",
    "哨兵 {nodes} 报告主节点 '{master}' 已下线：请等待故障转移完成，或启动它的服务器",
)
_PRIMARY_AWAY = Text(
    "the sentinels at {nodes} name a primary '{master}' that does not answer ({said}): "
    "is the address they announce reachable from here?",
    "哨兵 {nodes} 给出的主节点 '{master}' 连不上（{said}）：它们公布的地址从这台机器能访问吗？",
)
_NOT_A_CLUSTER_NODE = Text(
    "{nodes} is not a Redis Cluster node ({said}): this is a single server, use --redis-url for it, "
    "not --redis-cluster",
    "{nodes} 不是 Redis Cluster 节点（{said}）：这是单台 Redis 服务器，"
    "请用 --redis-url 指定，不要用 --redis-cluster",
)
_NO_CLUSTER_NODE = Text(
    "no Redis Cluster node answered at {nodes} ({said}): is the cluster running? Check {flag}",
    "Redis Cluster 节点 {nodes} 都没有应答（{said}）：集群在运行吗？请检查 {flag}",
)
_CREDENTIALS = Text(
    "{where} refused the credentials ({said}): check --redis-username and --redis-password-file",
    "{where} 拒绝了用户名或密码（{said}）：请检查 --redis-username 和 --redis-password-file",
)
_TOO_SLOW = Text(
    "{where} did not answer in time ({said}): is it overloaded, loading, or stopped?",
    "{where} 没有及时应答（{said}）：它是否过载、正在加载数据，或已停止？",
)
_NO_DATABASE = Text(
    "{where} has no such database ({said}): use a smaller number in --redis-url, "
    "or raise 'databases' in redis.conf",
    "{where} 没有这个数据库（{said}）：请在 --redis-url 里用小一些的编号，或调大 redis.conf 的 databases",
)
_UNREACHABLE = {
    "sentinel": _PRIMARY_AWAY,
    "cluster": _NO_CLUSTER_NODE,
    "url": Text(
        "cannot reach {where}: {said}. Is redis-server running? Set --redis-url or SMSWORKER_REDIS_URL",
        "连不上 {where}：{said}。redis-server 在运行吗？请设置 --redis-url 或 SMSWORKER_REDIS_URL",
    ),
}
_FAILED = Text("talking to {where} failed: {said}", "与 {where} 通信失败：{said}")
_ANSWERED = Text("{where} answered with an error: {said}", "{where} 返回了错误：{said}")
_HINTS = {
    "WRONGTYPE": Text(
        ": a key smsworker uses holds another type: check --queue and --dead-letter-queue",
        "：smsworker 用到的某个键存着别的类型：请检查 --queue 和 --dead-letter-queue",
    ),
    "NOPERM": Text(
        ": the ACL user lacks a command or key smsworker needs (see the README's Redis keys)",
        "：ACL 用户缺少 smsworker 需要的命令或键权限（见 README 的 Redis 键一节）",
    ),
    "MOVED": Text(": this is a cluster node: set --redis-cluster", "：这是集群节点：请设置 --redis-cluster"),
}
# Checked in this order: a subclass before the class it refines.
_BY_TYPE: list[tuple[type[RedisError], Text]] = [
    (NotASentinel, _NOT_A_SENTINEL),
    (IsASentinel, _IS_A_SENTINEL),
    (NoSentinelAnswered, _NO_SENTINEL),
    (PrimaryUnknown, _PRIMARY_UNKNOWN),
    (PrimaryDown, _PRIMARY_DOWN),
    (NotAClusterNode, _NOT_A_CLUSTER_NODE),
    (NoClusterNodeAnswered, _NO_CLUSTER_NODE),
    (AuthenticationError, _CREDENTIALS),
    (RedisTimeoutError, _TOO_SLOW),
]
