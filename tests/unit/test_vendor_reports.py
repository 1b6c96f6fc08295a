"""Alibaba's, Tencent's and Twilio's delivery reports at the receiver: each in the vendor's own
format and answered the way the vendor expects; unproven or malformed pushes change nothing."""

from __future__ import annotations

import ipaddress
import json
from typing import Any, cast

import fakeredis
import pytest
import redis
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsworker.receipts import parse_state
from smsworker.receiver import aliyun_reports
from smsworker.receiver.app import Sources, make_app
from smsworker.receiver.metrics import ReceiptMetrics
from smsworker.receiver.recorder import Recorder
from smsworker.receiver.twilio_reports import signature
from smsworker.store.queue import RedisQueue
from smsworker.store.receipts import ReceiptStore
from smsworker.store.status import StatusBook
from tests.support.logs import LogCapture

TOKEN = "path-token-0123456789"
TWILIO_TOKEN = "twilio-auth-token"
TWILIO_URL = "https://sms.example.com/receipts/twilio"
A = "+8613800138000"
SOURCES = Sources(path_token=TOKEN, twilio_auth_token=TWILIO_TOKEN, twilio_url=TWILIO_URL)


def sent(
    fake_redis: fakeredis.FakeRedis, queue: RedisQueue, provider: str, message_id: str, number: str
) -> None:
    """What a settle leaves for an accepted recipient of task order-1."""
    record = json.dumps({"id": "order-1", "number": number, "at": 1.0})
    fake_redis.set(queue.keys.receipt(provider, message_id, number), record, ex=600)
    state = {"state": "sent", "at": 1.0, "provider": provider, "message_id": message_id}
    fake_redis.hset(queue.keys.status("order-1"), number, json.dumps(state))


def status(queue: RedisQueue, number: str = A) -> dict[str, Any]:
    return parse_state(StatusBook(queue).statuses("order-1")[number])


def client_for(
    fake_redis: fakeredis.FakeRedis,
    queue: RedisQueue,
    logs: LogCapture,
    sources: Sources = SOURCES,
    metrics: ReceiptMetrics | None = None,
) -> FlaskClient:
    recorder = Recorder(ReceiptStore(queue), logs.logger, metrics)
    app = make_app(recorder, sources, log=logs.logger)
    return app.test_client()


@pytest.fixture
def client(fake_redis: fakeredis.FakeRedis, queue: RedisQueue, logs: LogCapture) -> FlaskClient:
    return client_for(fake_redis, queue, logs)


def aliyun(**fields: Any) -> bytes:
    report = {
        "phone_number": "13800138000",
        "send_time": "2026-11-21 10:00:00",
        "report_time": "2026-11-21 10:00:05",
        "success": True,
        "err_code": "DELIVERED",
        "err_msg": "用户接收成功",
        "sms_size": "1",
        "biz_id": "900619746936498440^0",
        "out_id": "",
    }
    return json.dumps([{**report, **fields}], ensure_ascii=False).encode()


def tencent(**fields: Any) -> bytes:
    report = {
        "user_receive_time": "2026-11-21 10:00:05",
        "nationcode": "86",
        "mobile": "13800138000",
        "report_status": "SUCCESS",
        "errmsg": "DELIVRD",
        "description": "用户短信送达成功",
        "sid": "sn-1",
    }
    return json.dumps([{**report, **fields}], ensure_ascii=False).encode()


# -- Alibaba Cloud ----------------------------------------------------------------------------------


def test_an_aliyun_push_moves_the_state_and_gets_the_answer_alibaba_expects(
    client: FlaskClient, fake_redis: fakeredis.FakeRedis, queue: RedisQueue, logs: LogCapture
) -> None:
    sent(fake_redis, queue, "aliyun", "900619746936498440^0", A)
    answer = client.post(f"/aliyun/{TOKEN}", data=aliyun())
    assert answer.status_code == 200 and answer.get_json()["code"] == 0
    assert status(queue)["state"] == "delivered"
    assert status(queue)["at"] == 1_795_226_405  # 2026-11-21 10:00:05 in Beijing is 02:00:05 UTC
    [event] = logs.events("receipt.delivered")
    assert event["mobile"] == "+86138****8000" and event["source"] == "aliyun"
    assert client.post(f"/aliyun/{TOKEN}", data=aliyun()).get_json()["code"] == 0  # pushed again
    assert queue.stats().delivered_total == 1


def test_an_aliyun_failure_report_keeps_the_vendor_code_and_text(
    client: FlaskClient, fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    sent(fake_redis, queue, "aliyun", "900619746936498440^0", A)
    client.post(f"/aliyun/{TOKEN}", data=aliyun(success=False, err_code="MK:0001", err_msg="停机"))
    assert (status(queue)["state"], status(queue)["code"], status(queue)["text"]) == (
        "undelivered",
        "MK:0001",
        "停机",
    )


def test_an_aliyun_number_read_both_ways_finds_the_receipt_it_was_recorded_under(
    client: FlaskClient, fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    # Alibaba writes +1 302 555 0123 as 13025550123, which is also a mainland number's form.
    assert aliyun_reports.readings("13025550123") == ("+8613025550123", "+13025550123")
    assert aliyun_reports.readings("85291234567") == ("+85291234567",)
    sent(fake_redis, queue, "aliyun", "b-2", "+13025550123")
    client.post(f"/aliyun/{TOKEN}", data=aliyun(phone_number="13025550123", biz_id="b-2"))
    assert status(queue, "+13025550123")["state"] == "delivered"


def test_the_unsigned_pushes_need_the_path_token_and_an_allowed_address(
    fake_redis: fakeredis.FakeRedis, queue: RedisQueue, logs: LogCapture
) -> None:
    sent(fake_redis, queue, "aliyun", "900619746936498440^0", A)
    allow = Sources(path_token=TOKEN, allow=(ipaddress.ip_network("10.0.0.0/8"),))
    client = client_for(fake_redis, queue, logs, allow)
    assert client.post("/aliyun/" + TOKEN[:-1] + "x", data=aliyun()).status_code == 404
    assert client.post(f"/aliyun/{TOKEN}", data=aliyun()).status_code == 403  # from 127.0.0.1
    assert status(queue)["state"] == "sent"
    inside = client.post(f"/aliyun/{TOKEN}", data=aliyun(), environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert inside.status_code == 200 and status(queue)["state"] == "delivered"
    nothing = client_for(fake_redis, queue, logs, Sources())
    assert nothing.post(f"/aliyun/{TOKEN}", data=aliyun()).status_code == 404


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"{}", "JSON array"),
        (aliyun(success="true"), "success must be true or false"),
        (aliyun(phone_number="+8613800138000"), "phone_number must be digits"),
        (aliyun(biz_id=""), "biz_id must be non-empty"),
        (aliyun(report_time="21/11/2026"), "report_time must be a time like"),
    ],
)
def test_a_malformed_aliyun_push_is_a_400_in_alibabas_format(
    client: FlaskClient, body: bytes, why: str
) -> None:
    answer = client.post(f"/aliyun/{TOKEN}", data=body)
    assert answer.status_code == 400 and answer.get_json()["code"] != 0 and why in answer.get_json()["msg"]


@pytest.mark.parametrize("route", ["aliyun", "tencent"])
def test_one_bad_element_does_not_cost_a_batch_its_good_reports(
    client: FlaskClient, fake_redis: fakeredis.FakeRedis, queue: RedisQueue, logs: LogCapture, route: str
) -> None:
    """Alibaba pushes a refused batch again, whole, and drops it after three tries: so the reports
    in it are applied and the element that is not one is counted, and the answer is a success."""
    message_id = "900619746936498440^0" if route == "aliyun" else "sn-1"
    sent(fake_redis, queue, route, message_id, A)
    good = json.loads(aliyun() if route == "aliyun" else tencent())[0]
    body = json.dumps([{"phone_number": None}, good, "not even an object"]).encode()
    answer = client.post(f"/{route}/{TOKEN}", data=body)
    assert answer.status_code == 200 and status(queue)["state"] == "delivered"
    [event] = logs.events("receipts.bad_report")
    assert event["count"] == 2 and "report 0" in event["error"]
    refused = client.post(f"/{route}/{TOKEN}", data=json.dumps([{"x": 1}]).encode())  # no report at all
    assert refused.status_code == 400


# -- Tencent Cloud ----------------------------------------------------------------------------------


def test_a_tencent_callback_moves_the_state_and_gets_the_answer_tencent_expects(
    client: FlaskClient, fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    sent(fake_redis, queue, "tencent", "sn-1", A)
    answer = client.post(f"/tencent/{TOKEN}", data=tencent())
    assert answer.status_code == 200 and answer.get_json() == {"result": 0, "errmsg": "OK"}
    assert status(queue)["state"] == "delivered"
    sent(fake_redis, queue, "tencent", "sn-2", "+8613800138001")
    failed = tencent(sid="sn-2", mobile="13800138001", report_status="FAIL", errmsg="MN:0001")
    client.post(f"/tencent/{TOKEN}", data=failed)
    assert status(queue, "+8613800138001")["state"] == "undelivered"
    bad = client.post(f"/tencent/{TOKEN}", data=tencent(report_status="OK"))
    assert (
        bad.status_code == 400
        and bad.get_json()["result"] != 0
        and "report_status" in bad.get_json()["errmsg"]
    )


# -- Twilio -----------------------------------------------------------------------------------------


def test_twilios_published_signature_example() -> None:
    """The request-validation example in Twilio's security documentation."""
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ]
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert signature("12345", url, reversed(params)) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="  # order of the form
    assert signature("12346", url, params) != "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert signature("12345", url + "&x=1", params) != "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert signature("12345", url, [*params[:-1], ("To", "+18005551213")]) != "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def twilio_form(**fields: str) -> dict[str, str]:
    return {
        "MessageSid": "SM1",
        "MessageStatus": "delivered",
        "To": A,
        "From": "+15005550006",
        "AccountSid": "AC1",
        "ApiVersion": "2010-04-01",
        **fields,
    }


def post_twilio(
    client: FlaskClient, form: dict[str, str], *, url: str = TWILIO_URL, token: str = TWILIO_TOKEN
) -> Any:
    return client.post(
        "/twilio", data=form, headers={"X-Twilio-Signature": signature(token, url, form.items())}
    )


def test_a_signed_twilio_callback_moves_the_state(
    client: FlaskClient, fake_redis: fakeredis.FakeRedis, queue: RedisQueue
) -> None:
    sent(fake_redis, queue, "twilio", "SM1", A)
    assert post_twilio(client, twilio_form(MessageStatus="sent")).status_code == 204
    assert status(queue)["state"] == "sent"  # a state on the way changes nothing
    assert post_twilio(client, twilio_form(MessageStatus="undelivered", ErrorCode="30003")).status_code == 204
    assert (status(queue)["state"], status(queue)["code"]) == ("undelivered", "30003")


@pytest.mark.parametrize(
    "change",
    [
        {
            "url": "http://127.0.0.1:8090/twilio"
        },  # what the receiver sees behind a proxy, not what Twilio called
        {"token": "another-auth-token"},
    ],
)
def test_a_twilio_callback_signed_otherwise_is_a_bare_403(
    client: FlaskClient, fake_redis: fakeredis.FakeRedis, queue: RedisQueue, change: dict[str, str]
) -> None:
    sent(fake_redis, queue, "twilio", "SM1", A)
    answer = post_twilio(client, twilio_form(), **change)
    assert answer.status_code == 403 and answer.get_json() == {"error": "forbidden"}
    tampered = twilio_form()
    headers = {"X-Twilio-Signature": signature(TWILIO_TOKEN, TWILIO_URL, tampered.items())}
    tampered["MessageStatus"] = "failed"
    assert client.post("/twilio", data=tampered, headers=headers).status_code == 403
    assert client.post("/twilio", data=tampered).status_code == 403
    assert status(queue)["state"] == "sent"


# -- every source -----------------------------------------------------------------------------------


class Away:
    """A Redis client whose server is gone."""

    def pipeline(self, transaction: bool = True) -> Any:
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6380. Connection refused.")

    def register_script(self, script: str) -> Any:
        return lambda **call: self.pipeline()


def test_redis_away_is_a_503_so_the_vendor_pushes_again(queue: RedisQueue, logs: LogCapture) -> None:
    store = ReceiptStore(RedisQueue(cast(redis.Redis, Away()), "sms_queue", "{sms_queue}:dead"))
    client = make_app(Recorder(store, logs.logger), SOURCES, log=logs.logger).test_client()
    assert client.post(f"/tencent/{TOKEN}", data=tencent()).status_code == 503
    assert logs.events("receipts.store_unavailable")


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["SUCCESS", "FAIL", "86", "13800138000", "2026-11-21 10:00:05"]),
)
_FIELDS = [
    "phone_number",
    "report_time",
    "success",
    "err_code",
    "biz_id",
    "user_receive_time",
    "nationcode",
    "mobile",
    "report_status",
    "errmsg",
    "sid",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(["aliyun", "tencent"]),
    body=st.one_of(
        st.binary(max_size=200),
        st.builds(
            lambda v: json.dumps(v).encode(),
            st.lists(st.dictionaries(st.sampled_from(_FIELDS), _VALUES), max_size=3),
        ),
    ),
)
def test_any_push_gets_a_200_or_a_400_never_a_500(client: FlaskClient, route: str, body: bytes) -> None:
    assert client.post(f"/{route}/{TOKEN}", data=body).status_code in (200, 400)


_FORM_FIELDS = ["MessageSid", "MessageStatus", "To", "ErrorCode", "ErrorMessage"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(form=st.dictionaries(st.sampled_from(_FORM_FIELDS), st.text(max_size=300)))
def test_any_signed_twilio_form_gets_a_204_or_a_400_never_a_500(
    client: FlaskClient, form: dict[str, str]
) -> None:
    assert post_twilio(client, form).status_code in (204, 400)


def test_reports_are_counted_by_provider_and_state_with_the_time_to_the_phone(
    fake_redis: fakeredis.FakeRedis, queue: RedisQueue, logs: LogCapture
) -> None:
    metrics = ReceiptMetrics()
    client = client_for(fake_redis, queue, logs, metrics=metrics)
    sent(fake_redis, queue, "tencent", "sn-1", A)  # accepted at t = 1.0
    for body in (tencent(), tencent(), tencent(sid="sn-404")):
        client.post(f"/tencent/{TOKEN}", data=body)

    def sample(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    assert sample("smsworker_receipts_total", provider="tencent", state="delivered") == 1
    assert sample("smsworker_receipts_total", provider="tencent", state="duplicate") == 1
    assert sample("smsworker_receipts_total", provider="tencent", state="unmatched") == 1
    assert sample("smsworker_receipt_delivery_seconds_count", provider="tencent") == 1
    assert sample("smsworker_receipt_delivery_seconds_sum", provider="tencent") == 1_795_226_405 - 1.0
