"""The dashboard's words in English and Simplified Chinese (most of our users read Chinese first).

The language comes from ``?lang=en|zh`` (kept in a cookie), else the browser's Accept-Language.
"""

# ruff: noqa: RUF001 - Chinese text is punctuated with full-width marks, as it should be.
from __future__ import annotations

LANGUAGES = ("en", "zh")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "smsworker", "overview": "Overview", "workers": "Workers", "dead": "Dead letters",
        "status": "Status lookup", "logout": "Log out", "login": "Log in", "user": "User",
        "password": "Password", "login_failed": "Wrong user or password.",
        "login_blocked": "Too many failed logins from your address: wait a few minutes.",
        "queued": "Queued", "processing": "Processing", "dead_total": "Dead letters",
        "sent_total": "Recipients sent", "segments": "Segments billed", "delivered": "Delivered",
        "undelivered": "Undelivered", "awaiting": "Awaiting receipt", "oldest": "Oldest queued task",
        "oldest_note": "waiting at least", "empty": "the queue is empty",
        "rate": "Last hour, per minute", "sent": "sent", "dead_word": "dead-lettered",
        "workers_alive": "Workers alive", "host": "Host", "pid": "PID", "processes": "Processes",
        "concurrency": "Concurrency", "in_flight": "In flight", "heartbeat": "Last heartbeat",
        "started": "Started", "version": "Version", "late": "late", "gone": "no heartbeat",
        "seconds_ago": "s ago", "no_workers": "No worker has registered.",
        "reason": "Reason", "code": "Provider code", "number": "Number", "from": "From", "to": "To",
        "filter": "Filter", "failed_at": "Failed at", "recipients": "Recipients", "error": "Error",
        "replay": "Replay", "replay_selected": "Replay selected", "replay_all": "Replay all shown",
        "purge_selected": "Purge selected", "purge_all": "Purge all shown",
        "confirm_purge": "Delete {count} dead letters for good?", "confirm": "Yes, delete them",
        "cancel": "Cancel", "replayed": "Replayed {count} tasks ({recipients} recipients).",
        "purged": "Deleted {count} dead letters.", "changed": "The list changed meanwhile: "
        "{count} entries match now. Confirm again.", "nothing": "Nothing matches.",
        "page": "Page", "next": "Next", "previous": "Previous", "envelope": "Dead letter",
        "payload": "Payload as pushed", "task_id": "Task id", "lookup": "Look up",
        "state": "State", "at": "At", "history": "History", "unknown": "Nothing is known of it.",
        "viewer_note": "You may look, not act: numbers are masked.",
        "forbidden": "Only operators may do this.",
        "csrf": "This form is stale or was not sent by this page: reload and try again.",
        "no_auth": "No login: anyone on this machine may act.", "refresh": "Live",
        "language": "中文",
    },
    "zh": {
        "title": "smsworker", "overview": "概览", "workers": "工作进程", "dead": "死信",
        "status": "状态查询", "logout": "退出", "login": "登录", "user": "用户名",
        "password": "密码", "login_failed": "用户名或密码错误。",
        "login_blocked": "您的地址登录失败次数过多，请几分钟后再试。",
        "queued": "排队中", "processing": "处理中", "dead_total": "死信",
        "sent_total": "已发送号码", "segments": "计费条数", "delivered": "已送达",
        "undelivered": "未送达", "awaiting": "等待回执", "oldest": "最早排队任务",
        "oldest_note": "已等待至少", "empty": "队列为空",
        "rate": "最近一小时（每分钟）", "sent": "已发送", "dead_word": "进入死信",
        "workers_alive": "存活进程", "host": "主机", "pid": "进程号", "processes": "进程数",
        "concurrency": "并发数", "in_flight": "发送中", "heartbeat": "最近心跳",
        "started": "启动时间", "version": "版本", "late": "心跳延迟", "gone": "无心跳",
        "seconds_ago": "秒前", "no_workers": "还没有工作进程注册。",
        "reason": "原因", "code": "服务商错误码", "number": "号码", "from": "起", "to": "止",
        "filter": "筛选", "failed_at": "失败时间", "recipients": "号码数", "error": "错误",
        "replay": "重发", "replay_selected": "重发所选", "replay_all": "重发全部（当前筛选）",
        "purge_selected": "删除所选", "purge_all": "删除全部（当前筛选）",
        "confirm_purge": "确定永久删除 {count} 条死信？", "confirm": "确定删除",
        "cancel": "取消", "replayed": "已重发 {count} 个任务（{recipients} 个号码）。",
        "purged": "已删除 {count} 条死信。", "changed": "列表已变化：现在匹配 {count} 条，请再次确认。",
        "nothing": "没有匹配项。",
        "page": "页", "next": "下一页", "previous": "上一页", "envelope": "死信详情",
        "payload": "原始任务", "task_id": "任务 ID", "lookup": "查询",
        "state": "状态", "at": "时间", "history": "历史", "unknown": "没有此记录。",
        "viewer_note": "只读权限：号码已打码。", "forbidden": "只有操作员可以执行此操作。",
        "csrf": "表单已过期或并非来自本页面，请刷新后重试。",
        "no_auth": "未启用登录：本机任何人都可以操作。", "refresh": "自动刷新",
        "language": "English",
    },
}  # fmt: skip


def pick(query: str | None, cookie: str | None, accept: str | None) -> str:
    for choice in (query, cookie):
        if choice in LANGUAGES:
            return str(choice)
    return "zh" if (accept or "").lower().startswith("zh") else "en"
