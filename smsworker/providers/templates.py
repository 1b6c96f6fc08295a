"""From a task to a vendor template: the template code, and the variables as the vendor wants them."""

from __future__ import annotations

from collections.abc import Mapping

from smsworker.providers.base import OutgoingMessage


def template_code(message: OutgoingMessage, table: Mapping[str, str]) -> str:
    """The vendor's code for the task's template_id; an id missing from the table is used as is."""
    return table.get(str(message.template_id), str(message.template_id))


def named_variables(message: OutgoingMessage, content_param: str) -> dict[str, str]:
    """The task's ``params`` (values as strings, as the vendors require); without params, the
    content as the one variable ``content_param``."""
    if message.params:
        return {str(k): _text(v) for k, v in message.params.items()}
    return {content_param: message.content}


def positional_variables(message: OutgoingMessage) -> list[str]:
    """For positional templates ({1}, {2}, ...): params in key order, numeric keys numerically."""
    if not message.params:
        return [message.content]
    keys = sorted(
        message.params, key=lambda k: (not str(k).isdigit(), int(k) if str(k).isdigit() else 0, str(k))
    )
    return [_text(message.params[k]) for k in keys]


def _text(value: object) -> str:
    return value if isinstance(value, str) else str(value)
