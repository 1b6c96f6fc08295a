"""Tencent Cloud's SMS status callback ("短信下发状态通知"): the delivery reports of SendSms.

Set in the console as the status report callback URL, it POSTs a JSON array:

    [{"user_receive_time": "2015-10-17 08:03:04", "nationcode": "86", "mobile": "13800138000",
      "report_status": "SUCCESS" | "FAIL", "errmsg": "DELIVRD", "description": "用户短信送达成功",
      "sid": "<the SerialNo SendSms returned for this number>"}]

and wants ``{"result": 0, "errmsg": "OK"}``. Times are Beijing time. Tencent does not sign the
callback: the receiver's path carries a secret token instead (see ``app.py``).
"""

from __future__ import annotations

from typing import Any

from smsworker.receipts import is_time
from smsworker.receiver.fields import BadReport, Batch, beijing_time, digits, each_report, report_object, text
from smsworker.store.receipts import Report

ANSWER = {"result": 0, "errmsg": "OK"}


def refusal(why: str) -> dict[str, Any]:
    """The answer to a body that is not a report: not a success, and why."""
    return {"result": 1, "errmsg": why}


def parse(body: bytes) -> Batch:
    """The reports in the body, and what is wrong with the elements that are not; ``BadReport``
    when there is none."""
    return each_report(body, _report)


def _report(item: dict[str, Any], n: int) -> Report:
    status = item.get("report_status")
    if status not in ("SUCCESS", "FAIL"):
        raise BadReport(f"report {n}: report_status must be SUCCESS or FAIL")
    return Report(
        provider="tencent",
        message_id=text(item, "sid", n, required=True),
        number="+" + digits(item, "nationcode", n) + digits(item, "mobile", n),
        delivered=status == "SUCCESS",
        at=beijing_time(item, "user_receive_time", n),
        code=text(item, "errmsg", n),
        text=text(item, "description", n),
    )


def from_pull(item: Any) -> Report:
    """A report from PullSmsSendStatus (``TencentProvider.pull_statuses``); ``BadReport`` if malformed."""
    item = report_object(item, 0)
    status = item.get("ReportStatus")
    if status not in ("SUCCESS", "FAIL"):
        raise BadReport("ReportStatus must be SUCCESS or FAIL")
    number = text(item, "PhoneNumber", 0, required=True)
    if not number.startswith("+"):
        raise BadReport("PhoneNumber must be E.164")
    at = item.get("UserReceiveTime")
    return Report(
        provider="tencent",
        message_id=text(item, "SerialNo", 0, required=True),
        number=number,
        delivered=status == "SUCCESS",
        at=float(at) if is_time(at) else None,
        code=text(item, "Description", 0),
    )
