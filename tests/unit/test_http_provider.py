"""The http provider against a real HTTP server on loopback."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from smsworker.errors import PermanentProviderError, TransientProviderError
from smsworker.providers.base import OutgoingMessage
from smsworker.providers.http import HttpProvider, parse_retry_after
from tests.support.fake_sms_api import FakeSmsApi, Reply
from tests.support.loopback import Answer, serve
from tests.support.redis_server import free_port

A, B = "+8613800138000", "+8613800138001"


def msg(*mobiles: str, **kw: object) -> OutgoingMessage:
    return OutgoingMessage(template_id=123, content="测试", mobiles=mobiles, **kw)  # type: ignore[arg-type]


def test_single_number_body_and_headers(fake_api: FakeSmsApi) -> None:
    provider = HttpProvider(fake_api.url, headers=[("Authorization", "Bearer t0k"), ("X-App", "shop")])
    provider.send(msg(A, params={"code": "1"}, task_id="t-1"))
    assert fake_api.requests == [
        {"template_id": 123, "mobile": A, "content": "测试", "params": {"code": "1"}, "id": "t-1"}
    ]
    assert fake_api.headers[0]["Authorization"] == "Bearer t0k"
    assert fake_api.headers[0]["X-App"] == "shop"


def test_optional_fields_are_omitted(fake_api: FakeSmsApi) -> None:
    HttpProvider(fake_api.url).send(msg(A))
    assert fake_api.requests == [{"template_id": 123, "mobile": A, "content": "测试"}]


def test_batches_send_mobiles(fake_api: FakeSmsApi) -> None:
    HttpProvider(fake_api.url, batch_size=10).send(msg(A, B))
    assert fake_api.requests[0]["mobiles"] == [A, B]


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503])
def test_transient_statuses(fake_api: FakeSmsApi, status: int) -> None:
    fake_api.script(A, Reply(status, body="busy"))
    with pytest.raises(TransientProviderError) as info:
        HttpProvider(fake_api.url).send(msg(A))
    assert info.value.code == str(status)
    assert f"HTTP {status}: busy" == str(info.value)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_permanent_statuses(fake_api: FakeSmsApi, status: int) -> None:
    fake_api.script(A, Reply(status, body='{"error":"no"}'))
    with pytest.raises(PermanentProviderError) as info:
        HttpProvider(fake_api.url).send(msg(A))
    assert info.value.code == str(status)


def test_retry_after_seconds_and_date(fake_api: FakeSmsApi) -> None:
    fake_api.script(A, Reply(429, headers={"Retry-After": "12"}))
    with pytest.raises(TransientProviderError) as info:
        HttpProvider(fake_api.url).send(msg(A))
    assert info.value.retry_after_s == 12
    assert parse_retry_after(formatdate(1000.0 + 30, usegmt=True), now=1000.0) == 30
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_timeout_is_transient() -> None:
    with FakeSmsApi(delay_s=0.5) as slow, pytest.raises(TransientProviderError, match="timed out"):
        HttpProvider(slow.url, timeout_s=0.05).send(msg(A))


def test_connection_refused_is_transient() -> None:
    port = free_port()  # nothing listens there
    with pytest.raises(TransientProviderError, match="request failed"):
        HttpProvider(f"http://127.0.0.1:{port}/sms").send(msg(A))


def test_proxy_settings_are_read_once_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "")
    provider = HttpProvider("https://sms.example.com/send")
    assert provider._session.proxies.get("https") == "http://proxy.internal:3128"
    assert provider._session.trust_env is False


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"message_id": "m-1"}', {A: "m-1", B: "m-1"}),  # one id for the request
        (b'{"message_ids": {"+8613800138000": "a", "+8613800138001": "b"}}', {A: "a", B: "b"}),
        (b'{"message_ids": {"+8613800138000": "a", "+8613800138001": 7}}', {A: "a"}),  # not text: none
        (b'{"message_id": ""}', {}),
        (b'{"message_id": "' + b"x" * 129 + b'"}', {}),  # longer than a Redis key should hold
        (b'{"message_id": "\\ud800"}', {}),  # a lone surrogate is not text
        (b'{"ok": true}', {}),
        (b"[1, 2]", {}),
        (b"accepted", {}),  # not JSON at all: sent, with no ids
    ],
)
def test_message_ids_from_a_2xx_answer_are_optional_and_never_an_error(
    body: bytes, expected: dict[str, str]
) -> None:
    with serve(lambda request: Answer(200, {"Content-Type": "application/json"}, body)) as base_url:
        provider = HttpProvider(base_url + "/sms", batch_size=10)
        try:
            result = provider.send(OutgoingMessage(1, "x", (A, B)))
        finally:
            provider.close()
    assert result.failed == {} and result.message_ids == expected
