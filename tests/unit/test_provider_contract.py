"""One contract, every provider: each implementation must pass the same suite."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from smsworker.config.settings import load_settings
from smsworker.errors import (
    ConfigError,
    PermanentProviderError,
    ProviderError,
    TransientProviderError,
    UnsendableMessage,
)
from smsworker.providers.aliyun import AliyunProvider
from smsworker.providers.base import OutgoingMessage, Provider, SendResult
from smsworker.providers.http import HttpProvider
from smsworker.providers.log import LogProvider
from smsworker.providers.registry import FACTORIES, build_providers
from smsworker.providers.tencent import TencentProvider
from smsworker.providers.twilio import TwilioProvider
from smsworker.testing import FakeProvider
from tests.support.fake_sms_api import FakeSmsApi
from tests.support.fake_vendors import FakeAliyun, FakeTencent, FakeTwilio
from tests.support.logs import LogCapture
from tests.support.loopback import Answer, Request, serve
from tests.support.redis_server import free_port
from tests.unit.test_vendor_providers import aliyun, tencent, twilio

VENDORS: dict[str, tuple[type, Any]] = {
    "aliyun": (FakeAliyun, aliyun),
    "tencent": (FakeTencent, tencent),
    "twilio": (FakeTwilio, twilio),
}

A, B = "+8613800138000", "+8613800138001"


@pytest.fixture(params=["log", "http", "http-batch", "fake", "aliyun", "tencent", "twilio"])
def provider(request: pytest.FixtureRequest, logs: LogCapture) -> Iterator[Provider]:
    kind = request.param
    if kind == "log":
        yield LogProvider(logs.logger)
    elif kind == "fake":
        yield FakeProvider()
    elif kind in VENDORS:
        fake_class, build = VENDORS[kind]
        with fake_class() as fake:
            yield build(fake)
    else:
        with FakeSmsApi() as api:
            yield HttpProvider(api.url, batch_size=10 if kind == "http-batch" else 1)


def test_has_a_name_and_a_batch_size(provider: Provider) -> None:
    assert isinstance(provider.name, str) and provider.name
    assert isinstance(provider.max_batch_size, int) and provider.max_batch_size >= 1


def test_a_full_batch_is_sent(provider: Provider) -> None:
    mobiles = (A, B)[: provider.max_batch_size] if provider.name != "twilio" else ("+12025550143",)
    result = provider.send(OutgoingMessage(template_id=1, content="你好", mobiles=mobiles))
    assert isinstance(result, SendResult)
    assert result.failed == {}


def test_params_and_id_are_accepted(provider: Provider) -> None:
    to = "+12025550143" if provider.name == "twilio" else A
    result = provider.send(OutgoingMessage(1, "x", (to,), params={"code": "12"}, task_id="id-1"))
    assert result.failed == {}


def test_close_is_idempotent_and_a_send_after_it_still_ends_as_the_contract_says(
    provider: Provider,
) -> None:
    # Shutdown closes providers while a send it gave up waiting for may still be running.
    provider.close()
    provider.close()
    to = "+12025550143" if provider.name == "twilio" else A
    try:
        result = provider.send(OutgoingMessage(1, "x", (to,)))
    except ProviderError:
        return
    assert isinstance(result, SendResult)


def test_registry_builds_every_name(logs: LogCapture) -> None:
    env = {
        "SMSWORKER_ALIYUN_ACCESS_KEY_ID": "k",
        "SMSWORKER_ALIYUN_ACCESS_KEY_SECRET": "s",
        "SMSWORKER_ALIYUN_SIGN_NAME": "S",
        "SMSWORKER_TENCENT_SECRET_ID": "i",
        "SMSWORKER_TENCENT_SECRET_KEY": "k",
        "SMSWORKER_TENCENT_SDK_APP_ID": "1",
        "SMSWORKER_TENCENT_SIGN_NAME": "S",
        "SMSWORKER_TWILIO_ACCOUNT_SID": "AC",
        "SMSWORKER_TWILIO_AUTH_TOKEN": "t",
        "SMSWORKER_TWILIO_FROM": "+1",
    }
    for name in FACTORIES:
        settings = load_settings({"provider": name, "http_url": "http://127.0.0.1:9/x"}, env)
        [built] = build_providers(settings, logs.logger)
        assert built.name == name
        built.close()
    with pytest.raises(ConfigError, match=r"needs aliyun\.access_key_id"):
        build_providers(load_settings({"provider": "aliyun"}, {}), logs.logger)
    with pytest.raises(ConfigError, match="choose one of aliyun, http, log, tencent, twilio"):
        build_providers(load_settings({"provider": "nope"}, {}), logs.logger)


def test_log_provider_logs_each_message_masked(logs: LogCapture) -> None:
    LogProvider(logs.logger).send(OutgoingMessage(123, "Test SMS", (A,)))
    [event] = logs.events("sms.dry_run")
    assert event["mobile"] == "+86138****8000"
    assert event["content"] == "Test SMS" and event["template_id"] == 123


# A server that answers gets a timeout no loaded machine reaches: an answer that came late would make
# a redirect look like an outage. The tests of silence wait for the short one.
ANSWERED_S = 30.0
SILENT_S = 0.2


def _network_provider(kind: str, base_url: str, timeout_s: float = ANSWERED_S) -> Provider:
    if kind == "http":
        return HttpProvider(base_url + "/sms", timeout_s=timeout_s)
    if kind == "aliyun":
        return AliyunProvider(
            access_key_id="k",
            access_key_secret="s",
            sign_name="S",
            templates={},
            base_url=base_url,
            timeout_s=timeout_s,
        )
    if kind == "tencent":
        return TencentProvider(
            secret_id="i",
            secret_key="k",
            sdk_app_id="1",
            sign_name="S",
            templates={},
            base_url=base_url,
            timeout_s=timeout_s,
        )
    return TwilioProvider(
        account_sid="AC", auth_token="t", from_number="+1", base_url=base_url, timeout_s=timeout_s
    )


@pytest.mark.parametrize("kind", ["http", "aliyun", "tencent", "twilio"])
def test_a_provider_that_never_answers_is_transient(kind: str) -> None:
    with socket.socket() as listener:  # accepts connections (backlog), never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        provider = _network_provider(kind, f"http://127.0.0.1:{listener.getsockname()[1]}", SILENT_S)
        with pytest.raises(TransientProviderError, match="timed out"):
            provider.send(OutgoingMessage(1, "x", ("+12025550143",)))


@pytest.mark.parametrize("kind", ["http", "aliyun", "tencent", "twilio"])
def test_a_refused_connection_is_transient(kind: str) -> None:
    port = free_port()  # nothing listens there
    provider = _network_provider(kind, f"http://127.0.0.1:{port}")
    with pytest.raises(TransientProviderError, match="request failed"):
        provider.send(OutgoingMessage(1, "x", ("+12025550143",)))


class Redirector:
    """Answers every POST with a redirect to a page that accepts a GET: what a moved webhook does."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.requests: list[Request] = []

    def __call__(self, request: Request) -> Answer:
        self.requests.append(request)
        if request.method == "POST":
            return Answer(
                self.status, {"Location": "/moved?token=s3cret", "Content-Type": "application/json"}
            )
        # What a careless client would take as "sent": every vendor's success, all at once.
        accepted = b'{"Code": "OK", "BizId": "1", "sid": "SM1", "Response": {"SendStatusSet": []}}'
        return Answer(200, {"Content-Type": "application/json"}, accepted)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("kind", ["http", "aliyun", "tencent", "twilio"])
def test_a_redirect_is_never_followed_and_never_counts_as_sent(kind: str, status: int) -> None:
    redirector = Redirector(status)
    with serve(redirector) as base_url:
        provider = _network_provider(kind, base_url)
        with pytest.raises(
            PermanentProviderError, match=f"HTTP {status}: the provider redirects to "
        ) as info:
            provider.send(OutgoingMessage(1, "x", ("+12025550143",)))
    assert [r.method for r in redirector.requests] == ["POST"]
    assert info.value.code == str(status)
    assert "s3cret" not in str(info.value) and "token=***" in str(info.value)


@pytest.mark.parametrize(
    ("kind", "params"),
    [("http", None), ("aliyun", None), ("tencent", None), ("twilio", None), ("http", {"n": float("nan")})],
)
def test_a_message_that_cannot_be_encoded_is_unsendable(kind: str, params: dict[str, float] | None) -> None:
    answered: list[Request] = []

    def answer(request: Request) -> Answer:
        answered.append(request)
        return Answer()

    with serve(answer) as base_url:
        provider = _network_provider(kind, base_url)
        content = "x" if params else "x\ud800"
        with pytest.raises(UnsendableMessage, match="cannot be encoded"):
            provider.send(OutgoingMessage(1, content, ("+12025550143",), params=params))
    assert answered == []  # nothing half-encoded went out


@pytest.mark.parametrize("kind", sorted(VENDORS))
def test_a_vendor_names_each_accepted_number_as_its_reports_will(kind: str) -> None:
    fake_class, build = VENDORS[kind]
    numbers = ("+12025550143",) if kind == "twilio" else (A, B)
    with fake_class() as fake:
        result = build(fake).send(OutgoingMessage(1, "x", numbers))
        assert result.message_ids == {m: fake.message_ids[m] for m in numbers}
        again = build(fake).send(OutgoingMessage(1, "x", numbers))
    assert set(again.message_ids.values()).isdisjoint(result.message_ids.values())  # a new request, new ids
