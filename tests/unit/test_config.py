from __future__ import annotations

from ipaddress import ip_network
from pathlib import Path

import pytest

from smsworker.config.settings import SETTING_NAMES, Settings, load_settings
from smsworker.errors import ConfigError


def test_defaults() -> None:
    settings = load_settings({}, {})
    assert settings == Settings()
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.queue == "sms_queue"
    assert settings.dead_letter_key == "{sms_queue}:dead"
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
    assert settings.http_headers == (("A", "1"),)
    assert settings.backoff_base == 1.0


def test_config_path_from_environment(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('provider = "http"\nhttp_url = "http://127.0.0.1:1/x"\n')
    settings = load_settings({}, {"SMSWORKER_CONFIG": str(config)})
    assert settings.provider == "http"


# One value for every setting, as it is written in the environment, and what it parses to. A new
# setting without a row here fails the first test below.
FROM_ENVIRONMENT: dict[str, tuple[str, object]] = {
    "redis_url": ("redis://h:1/2", "redis://h:1/2"),
    "redis_username": ("app", "app"),
    "redis_password_file": ("/dev/null", "/dev/null"),  # read at load: an empty password
    "redis_tls_ca_file": ("/etc/ca.pem", "/etc/ca.pem"),
    "redis_tls_cert_file": ("/etc/c.pem", "/etc/c.pem"),
    "redis_tls_key_file": ("/etc/k.pem", "/etc/k.pem"),
    "sentinels": ("s1:26379, s2:26380", (("s1", 26379), ("s2", 26380))),
    "redis_cluster": ("n1:7000, n2:7001", (("n1", 7000), ("n2", 7001))),
    "sentinel_master": ("main", "main"),
    "queue": ("q", "q"),
    "dead_letter_queue": ("d", "d"),
    "provider": ("HTTP", "http"),
    "http_url": ("http://x/y", "http://x/y"),
    "http_headers": ("X-A: 1\nX-B: 2", (("X-A", "1"), ("X-B", "2"))),
    "http_timeout": ("2.5", 2.5),
    "http_batch_size": ("50", 50),
    "concurrency": ("2", 2),
    "processes": ("3", 3),
    "rate_limits": ("aliyun=5/s, 20/s", {"aliyun": 5.0, "*": 20.0}),
    "metrics_port": ("9108", 9108),
    "metrics_address": ("0.0.0.0", "0.0.0.0"),
    "max_attempts": ("2", 2),
    "backoff_base": ("0.5", 0.5),
    "backoff_max": ("2", 2.0),
    "heartbeat_ttl": ("9", 9),
    "shutdown_timeout": ("7", 7.0),
    "default_region": ("us", "US"),
    "max_payload_bytes": ("4096", 4096),
    "max_recipients": ("10", 10),
    "poison_after": ("5", 5),
    "receipt_ttl": ("3600", 3600),
    "receipts_address": ("0.0.0.0", "0.0.0.0"),
    "receipts_port": ("9000", 9000),
    "http_report_secret_file": ("/dev/null", "/dev/null"),  # read at load, like the Redis password
    "receipts_path_token_file": ("/dev/null", "/dev/null"),
    "receipts_metrics_port": ("9101", 9101),
    "receipts_pull": ("Tencent, aliyun,tencent", ("tencent", "aliyun")),
    "receipts_list": ("yes", True),
    "dashboard_address": ("0.0.0.0", "0.0.0.0"),
    "dashboard_port": ("9000", 9000),
    "dashboard_users_file": ("/etc/smsworker/users", "/etc/smsworker/users"),
    "dashboard_secret_file": ("/etc/smsworker/key", "/etc/smsworker/key"),
    "dashboard_behind_tls": ("true", True),
    "dashboard_no_auth": ("yes", True),
    "dashboard_allowed_hosts": ("SMS.example.com, .example.org.", ("sms.example.com", ".example.org")),
    "dashboard_trusted_proxies": ("127.0.0.1", (ip_network("127.0.0.1/32"),)),
    "dashboard_idle_timeout": ("600", 600.0),
    "receipts_hold": ("60", 60.0),
    "receipts_hold_max": ("10", 10),
    "dead_letter_undelivered": ("1", True),
    "group_tasks": ("off", False),
    "receipts_list_max": ("500", 500),
    "receipts_pull_after": ("120", 120.0),
    "receipts_pull_every": ("5", 5.0),
    "receipts_allow": ("10.0.0.0/8, 192.0.2.1", (ip_network("10.0.0.0/8"), ip_network("192.0.2.1/32"))),
    "log_format": ("json", "json"),
    "log_level": ("debug", "debug"),
    "mask_mobiles": ("false", False),
}


def test_every_setting_is_in_the_environment_table() -> None:
    assert sorted(FROM_ENVIRONMENT) == sorted(SETTING_NAMES)


@pytest.mark.parametrize("name", sorted(FROM_ENVIRONMENT))
def test_every_setting_has_an_environment_variable(name: str, tmp_path: Path) -> None:
    text, expected = FROM_ENVIRONMENT[name]
    if name == "dashboard_secret_file":  # read at load, and refused under 32 characters
        key = tmp_path / "key"
        key.write_text("k" * 40)
        text = expected = str(key)
    environ = {f"SMSWORKER_{name.upper()}": text}
    if name == "metrics_port":
        environ["SMSWORKER_PROCESSES"] = "1"
    settings = load_settings({}, environ)
    assert getattr(settings, name) == expected
    if text:  # the table must show a value that differs from the default, or it proves nothing
        assert getattr(Settings(), name) != expected


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
    assert "s3cret" not in repr(settings)  # a settings object in a log line or a traceback shows no secret
    assert settings.provider_options == {
        "aliyun": {
            "access_key_id": "id",
            "sign_name": "Shop",
            "templates": {"123": "SMS_1"},
            "access_key_secret": "s3cret",
        },
    }


def test_rate_limits_setting() -> None:
    assert load_settings({}, {"SMSWORKER_RATE_LIMITS": "aliyun=500/s, 20/s, tencent=2.5"}).rate_limits == {
        "aliyun": 500.0,
        "*": 20.0,
        "tencent": 2.5,
    }
    with pytest.raises(ConfigError, match=r"invalid rate_limits .* write it as 500/s"):
        load_settings({"rate_limits": ("quick",)}, {})
    with pytest.raises(ConfigError, match=r"invalid rate_limits .* greater than 0"):
        load_settings({"rate_limits": ("x=0/s",)}, {})


def test_sentinels_and_the_database_are_parsed_once_into_settings() -> None:
    s = load_settings({"sentinels": ("a.example:26379", "b:26380")}, {"SMSWORKER_REDIS_URL": "redis://h/4"})
    assert s.sentinels == (("a.example", 26379), ("b", 26380))
    assert s.redis_db == 4


def test_the_redis_password_is_read_once_when_settings_load(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    s = load_settings({"redis_password_file": str(secret)}, {})
    secret.unlink()
    assert s.redis_password == "s3cret"
    assert "s3cret" not in repr(s)
    secret.write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match=r"cannot read redis_password_file .*: not UTF-8 text"):
        load_settings({"redis_password_file": str(secret)}, {})
    secret.write_text("report-secret-0123456789\n")
    s = load_settings({"http_report_secret_file": str(secret)}, {})
    secret.unlink()
    assert s.http_report_secret == "report-secret-0123456789" and "report-secret" not in repr(s)
    with pytest.raises(ConfigError, match=r"cannot read http_report_secret_file .*: No such file"):
        load_settings({"http_report_secret_file": str(secret)}, {})


def test_systemd_credentials_become_secret_files(tmp_path: Path) -> None:
    (tmp_path / "aliyun_access_key_secret").write_text("s3cret\n")
    (tmp_path / "unrelated").write_text("x")
    (tmp_path / "receipts_path_token").write_text("path-token-0123456789\n")
    settings = load_settings({}, {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert settings.provider_options == {
        "aliyun": {"access_key_secret_file": str(tmp_path / "aliyun_access_key_secret")}
    }
    assert settings.receipts_path_token == "path-token-0123456789" and settings.http_report_secret is None
    assert settings.dashboard_users_file == ""  # no such credential: not set
    (tmp_path / "dashboard_users").write_text("")
    (tmp_path / "dashboard_secret").write_text("k" * 64)
    settings = load_settings({}, {"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert settings.dashboard_users_file == str(tmp_path / "dashboard_users")
    assert settings.dashboard_secret_file == str(tmp_path / "dashboard_secret")


@pytest.mark.parametrize("address", ["0.0.0.0", "10.0.0.5", "::", "example.com"])
def test_a_dashboard_without_logins_stays_on_loopback(address: str) -> None:
    with pytest.raises(ConfigError, match="loopback address only") as info:
        load_settings({"dashboard_no_auth": True, "dashboard_address": address}, {})
    assert "\n" not in str(info.value)
    assert load_settings({"dashboard_no_auth": True, "dashboard_address": "::1"}, {}).dashboard_no_auth


def test_processes_auto_is_one_per_core_this_process_may_use() -> None:
    import os

    assert load_settings({"processes": "auto"}, {}).processes == len(os.sched_getaffinity(0))
    assert load_settings({}, {"SMSWORKER_PROCESSES": " AUTO "}).processes == len(os.sched_getaffinity(0))
    with pytest.raises(ConfigError, match="invalid processes 'some'"):
        load_settings({"processes": "some"}, {})


def test_the_dashboard_key_is_read_once_at_load_and_must_be_long(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("k" * 40 + "\n")
    assert load_settings({"dashboard_secret_file": str(key)}, {}).dashboard_secret == "k" * 40
    key.write_text("short")
    with pytest.raises(ConfigError, match="dashboard_secret_file must hold at least 32 characters"):
        load_settings({"dashboard_secret_file": str(key)}, {})
