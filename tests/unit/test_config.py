from __future__ import annotations

from pathlib import Path

import pytest

from smsworker.config import Settings, load_settings
from smsworker.errors import ConfigError


def test_defaults() -> None:
    settings = load_settings({}, {})
    assert settings == Settings()
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.queue == "sms_queue"
    assert settings.dead_letter_key == "sms_queue:dead"
    assert settings.default_region == "CN"
    assert settings.provider == "log"


def test_flag_beats_env_beats_file_beats_default(tmp_path: Path) -> None:
    config = tmp_path / "smsworker.toml"
    config.write_text('queue = "from_file"\nconcurrency = 3\nmax-attempts = 9\nhttp_headers = ["A: 1"]\n')
    env = {"SMSWORKER_QUEUE": "from_env", "SMSWORKER_CONCURRENCY": "5"}
    settings = load_settings({"queue": "from_flag", "concurrency": None}, env, str(config))
    assert settings.queue == "from_flag"
    assert settings.concurrency == 5
    assert settings.max_attempts == 9
    assert settings.http_headers == ("A: 1",)
    assert settings.backoff_base == 1.0


def test_config_path_from_environment(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('provider = "http"\nhttp_url = "http://127.0.0.1:1/x"\n')
    settings = load_settings({}, {"SMSWORKER_CONFIG": str(config)})
    assert settings.provider == "http"


def test_every_setting_has_an_environment_variable() -> None:
    env = {
        "SMSWORKER_REDIS_URL": "redis://h:1/2",
        "SMSWORKER_QUEUE": "q",
        "SMSWORKER_DEAD_LETTER_QUEUE": "d",
        "SMSWORKER_PROVIDER": "http",
        "SMSWORKER_HTTP_URL": "http://x/y",
        "SMSWORKER_CONCURRENCY": "2",
        "SMSWORKER_MAX_ATTEMPTS": "2",
        "SMSWORKER_BACKOFF_BASE": "0.5",
        "SMSWORKER_BACKOFF_MAX": "2",
        "SMSWORKER_HEARTBEAT_TTL": "9",
        "SMSWORKER_DEFAULT_REGION": "us",
        "SMSWORKER_LOG_FORMAT": "json",
        "SMSWORKER_HTTP_HEADERS": "X-A: 1\nX-B: 2",
        "SMSWORKER_MASK_MOBILES": "false",
    }
    s = load_settings({}, env)
    assert (s.redis_url, s.queue, s.dead_letter_key, s.provider, s.http_url) == (
        "redis://h:1/2",
        "q",
        "d",
        "http",
        "http://x/y",
    )
    assert (s.concurrency, s.max_attempts, s.backoff_base, s.backoff_max, s.heartbeat_ttl) == (
        2,
        2,
        0.5,
        2.0,
        9,
    )
    assert (s.default_region, s.log_format, s.mask_mobiles) == ("US", "json", False)
    assert s.http_header_pairs() == [("X-A", "1"), ("X-B", "2")]


@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        ({"concurrency": "abc"}, {}, "invalid concurrency 'abc' (from --concurrency): must be an integer"),
        (
            {},
            {"SMSWORKER_CONCURRENCY": "0"},
            "(from environment SMSWORKER_CONCURRENCY): must be at least 1",
        ),
        ({"default_region": "XX"}, {}, "invalid default_region 'XX'"),
        ({"redis_url": "http://x"}, {}, "must start with redis://, rediss:// or unix://"),
        ({"log_format": "xml"}, {}, "must be one of auto, json, console"),
        ({"http_headers": ("NoColon",)}, {}, "is not a header of the form 'Name: value'"),
        ({"backoff_base": "5", "backoff_max": "1"}, {}, "backoff_max"),
        ({"heartbeat_ttl": "2"}, {}, "heartbeat_ttl"),
        ({"dead_letter_queue": "sms_queue"}, {}, "must differ from queue"),
        ({"http_url": "ftp://x"}, {}, "http_url"),
        ({"metrics_port": "9100", "processes": "2"}, {}, "the processes cannot share one port"),
        ({"metrics_port": "70000"}, {}, "must be a port number between 0 and 65535"),
    ],
)
def test_bad_values_name_the_setting(flags: dict[str, object], env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(flags, env)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_config_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("queue = \n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_settings({}, {}, str(bad))
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("queu = 'x'\n")
    with pytest.raises(ConfigError, match="unknown setting 'queu'"):
        load_settings({}, {}, str(unknown))
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings({}, {}, str(tmp_path / "missing.toml"))


def test_redis_password_is_redacted() -> None:
    settings = load_settings({"redis_url": "redis://user:s3cret@db.example:6380/1"}, {})
    assert settings.redacted_redis_url() == "redis://user:***@db.example:6380/1"
    assert "s3cret" not in settings.redacted_redis_url()


def test_provider_tables_from_file_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        '[aliyun]\naccess_key_id = "id"\nsign-name = "Shop"\n[aliyun.templates]\n123 = "SMS_1"\n'
    )
    settings = load_settings({}, {"SMSWORKER_ALIYUN_ACCESS_KEY_SECRET": "s3cret"}, str(config))
    assert settings.provider_options == {
        "aliyun": {
            "access_key_id": "id",
            "sign_name": "Shop",
            "templates": {"123": "SMS_1"},
            "access_key_secret": "s3cret",
        },
    }
    assert "s3cret" not in settings.redacted_redis_url()


def test_rate_limits_setting() -> None:
    assert load_settings({}, {"SMSWORKER_RATE_LIMITS": "aliyun=500/s, 20/s"}).rate_limits == (
        "aliyun=500/s",
        "20/s",
    )
    with pytest.raises(ConfigError, match=r"invalid rate_limits .* write it as 500/s"):
        load_settings({"rate_limits": ("quick",)}, {})


def test_systemd_credentials_become_secret_files(tmp_path: Path) -> None:
    (tmp_path / "aliyun_access_key_secret").write_text("s3cret\n")
    (tmp_path / "unrelated").write_text("x")
    settings = load_settings({}, {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert settings.provider_options == {
        "aliyun": {"access_key_secret_file": str(tmp_path / "aliyun_access_key_secret")}
    }
