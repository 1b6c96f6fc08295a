"""The aliyun, tencent and twilio adapters against fakes that check signatures and parameters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from smsworker.errors import PermanentProviderError, TransientProviderError
from smsworker.providers.aliyun import AliyunProvider
from smsworker.providers.base import OutgoingMessage
from smsworker.providers.tencent import TencentProvider
from smsworker.providers.twilio import TwilioProvider
from tests.support.fake_vendors import FakeAliyun, FakeTencent, FakeTwilio

A, B, C = "+8613800138000", "+8613800138001", "+12025550143"
HK = "+85291234567"


def msg(*mobiles: str, **kw: object) -> OutgoingMessage:
    return OutgoingMessage(123, "Test SMS", mobiles, **kw)  # type: ignore[arg-type]


@pytest.fixture
def aliyun_fake() -> Iterator[FakeAliyun]:
    with FakeAliyun() as fake:
        yield fake


@pytest.fixture
def tencent_fake() -> Iterator[FakeTencent]:
    with FakeTencent() as fake:
        yield fake


@pytest.fixture
def twilio_fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


def aliyun(fake: FakeAliyun, **kw: Any) -> AliyunProvider:
    return AliyunProvider(
        access_key_id="test-key",
        access_key_secret="test-secret",
        sign_name="Shop",
        templates={"123": "SMS_15255"},
        base_url=fake.base_url,
        **kw,
    )


def tencent(fake: FakeTencent) -> TencentProvider:
    return TencentProvider(
        secret_id="AKIDtest",
        secret_key="tencent-secret",
        sdk_app_id="1400000000",
        sign_name="Shop",
        templates={"123": "1110"},
        base_url=fake.base_url,
    )


def twilio(fake: FakeTwilio) -> TwilioProvider:
    return TwilioProvider(
        account_sid="ACtest", auth_token="twilio-token", from_number="+15005550006", base_url=fake.base_url
    )


@pytest.mark.parametrize("signature", ["v3", "v1"])
def test_aliyun_sends_a_batch_signed(aliyun_fake: FakeAliyun, signature: str) -> None:
    result = aliyun(aliyun_fake, signature=signature).send(
        msg(A, B, HK, params={"code": 1234}, task_id="order-1")
    )
    [biz_id] = set(result.message_ids.values())  # one per request, for each of its numbers
    assert result.message_ids == dict.fromkeys((A, B, HK), biz_id)
    assert biz_id == aliyun_fake.message_ids[A] and biz_id.endswith("^0")
    assert aliyun_fake.rejections == []
    [request] = aliyun_fake.requests
    assert request["PhoneNumbers"] == "13800138000,13800138001,85291234567"
    assert (request["TemplateCode"], request["SignName"], request["OutId"]) == (
        "SMS_15255",
        "Shop",
        "order-1",
    )
    assert request["TemplateParam"] == '{"code": "1234"}'  # values must be strings
    assert sorted(aliyun_fake.delivered) == sorted([A, B, HK])


def test_aliyun_content_becomes_the_variable_without_params(aliyun_fake: FakeAliyun) -> None:
    aliyun(aliyun_fake, content_param="msg").send(msg(A))
    assert aliyun_fake.requests[0]["TemplateParam"] == '{"msg": "Test SMS"}'


def test_aliyun_wrong_secret_is_refused_permanently(aliyun_fake: FakeAliyun) -> None:
    provider = AliyunProvider(
        access_key_id="test-key",
        access_key_secret="wrong",
        sign_name="S",
        templates={},
        base_url=aliyun_fake.base_url,
    )
    with pytest.raises(PermanentProviderError) as info:
        provider.send(msg(A))
    assert info.value.code == "SignatureDoesNotMatch"


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("isp.SYSTEM_ERROR", TransientProviderError),
        ("Throttling.User", TransientProviderError),
        ("isv.MOBILE_NUMBER_ILLEGAL", PermanentProviderError),
        ("isv.AMOUNT_NOT_ENOUGH", PermanentProviderError),
    ],
)
def test_aliyun_codes_are_classified(aliyun_fake: FakeAliyun, code: str, kind: type[Exception]) -> None:
    aliyun_fake.script("13800138000", code)
    with pytest.raises(kind) as info:
        aliyun(aliyun_fake).send(msg(A))
    assert info.value.code == code  # type: ignore[attr-defined]


def test_tencent_settles_each_number_from_the_answer(tencent_fake: FakeTencent) -> None:
    tencent_fake.script(B, "FailedOperation.PhoneNumberInBlacklist")
    tencent_fake.script(C, "RequestLimitExceeded.PhoneNumberThirtySecondLimit")
    result = tencent(tencent_fake).send(msg(A, B, C, params={"2": "5", "1": "1234"}, task_id="t-1"))
    assert tencent_fake.rejections == []
    assert set(result.failed) == {B, C}
    assert isinstance(result.failed[B], PermanentProviderError)
    assert isinstance(result.failed[C], TransientProviderError)
    request = tencent_fake.requests[0]
    assert request["TemplateParamSet"] == ["1234", "5"] and request["TemplateId"] == "1110"
    assert request["SessionContext"] == "t-1"
    assert tencent_fake.delivered == [A]


def test_tencent_whole_request_errors(tencent_fake: FakeTencent) -> None:
    wrong = TencentProvider(
        secret_id="AKIDtest",
        secret_key="nope",
        sdk_app_id="1",
        sign_name="S",
        templates={},
        base_url=tencent_fake.base_url,
    )
    with pytest.raises(PermanentProviderError) as info:
        wrong.send(msg(A))
    assert info.value.code == "AuthFailure.SignatureFailure"


def test_twilio_one_number_a_request(twilio_fake: FakeTwilio) -> None:
    sid = twilio(twilio_fake).send(msg(C)).message_ids[C]
    assert sid.startswith("SM") and len(sid) == 34 and twilio_fake.message_ids == {C: sid}
    assert twilio_fake.requests == [{"To": C, "Body": "Test SMS", "From": "+15005550006"}]
    assert twilio_fake.delivered == [C]


@pytest.mark.parametrize(
    ("code", "kind"),
    [("21211", PermanentProviderError), ("21610", PermanentProviderError), ("20429", TransientProviderError)],
)
def test_twilio_codes_are_classified(twilio_fake: FakeTwilio, code: str, kind: type[Exception]) -> None:
    twilio_fake.script(C, code)
    with pytest.raises(kind) as info:
        twilio(twilio_fake).send(msg(C))
    assert info.value.code == code  # type: ignore[attr-defined]


def test_twilio_bad_token_is_permanent(twilio_fake: FakeTwilio) -> None:
    provider = TwilioProvider(
        account_sid="ACtest", auth_token="nope", from_number="+1", base_url=twilio_fake.base_url
    )
    with pytest.raises(PermanentProviderError):
        provider.send(msg(C))
