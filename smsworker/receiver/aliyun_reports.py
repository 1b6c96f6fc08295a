"""Alibaba Cloud's "SmsReport" HTTP batch push: the delivery reports of SendSms / SendBatchSms.

The console's "HTTP batch push" mode POSTs a JSON array, one object per message:

    [{"phone_number": "13800138000", "send_time": "2017-01-01 00:00:00",
      "report_time": "2017-01-01 00:00:05", "success": true, "err_code": "DELIVERED",
      "err_msg": "用户接收成功", "sms_size": "1", "biz_id": "900619746936498440^0", "out_id": ""}]

and wants HTTP 200 with ``{"code": 0, "msg": ...}``; anything else is pushed again after 1, 5 and
10 minutes. Times are Beijing time. Alibaba does not sign the push: the receiver's path carries a
secret token instead (see ``app.py``).

The number comes back as it was sent (``providers/aliyun.phone_number``): mainland numbers without
+86, others as country code and number without the +. Eleven digits starting with 1 can be either
a mainland number or a North American one, so such a report carries both readings and the one a
receipt was recorded under is taken.
"""

from __future__ import annotations

from typing import Any

from smsworker.providers.aliyun import phone_number
from smsworker.receiver.fields import BadReport, Batch, beijing_time, digits, each_report, text
from smsworker.store.receipts import Report

ANSWER = {"code": 0, "msg": "接收成功"}


def refusal(why: str) -> dict[str, Any]:
    """The answer to a body that is not a report: not a success, and why."""
    return {"code": 1, "msg": why}


def parse(body: bytes) -> Batch:
    """The reports in the body, and what is wrong with the elements that are not; ``BadReport``
    when there is none."""
    return each_report(body, _report)


def readings(phone_number: str) -> tuple[str, ...]:
    """The E.164 numbers ``phone_number`` (as Alibaba writes it) may stand for, likeliest first."""
    if len(phone_number) == 11 and phone_number.startswith("1"):
        return ("+86" + phone_number, "+" + phone_number)
    return ("+" + phone_number,)


def _report(item: dict[str, Any], n: int) -> Report:
    success = item.get("success")
    if not isinstance(success, bool):
        raise BadReport(f"report {n}: success must be true or false")
    first, *others = readings(digits(item, "phone_number", n))
    return Report(
        provider="aliyun",
        message_id=text(item, "biz_id", n, required=True),
        number=first,
        also=tuple(others),
        delivered=success,
        at=beijing_time(item, "report_time", n),
        code=text(item, "err_code", n),
        text=text(item, "err_msg", n),
    )


def from_details(items: list[dict[str, Any]], number: str, biz_id: str) -> Report | None:
    """The report in QuerySendDetails' answer (``AliyunProvider.query_details``) for ``number``
    (E.164) sent under ``biz_id``; None while Alibaba is still waiting for the handset (SendStatus
    1) or knows nothing of it. ``BadReport`` if the item is malformed."""
    sent_as = phone_number(number)
    for n, item in enumerate(items):
        if item.get("PhoneNum") != sent_as:
            continue
        status = item.get("SendStatus")
        if status not in (1, 2, 3):
            raise BadReport(f"SendStatus must be 1, 2 or 3, not {status!r}")
        if status == 1:
            return None
        return Report(
            provider="aliyun",
            message_id=biz_id,
            number=number,
            delivered=status == 3,
            at=beijing_time(item, "ReceiveDate", n),
            code=text(item, "ErrCode", n),
        )
    return None
