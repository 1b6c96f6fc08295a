"""Redis the way production runs it: TLS with a client certificate, an ACL user whose password comes
from a file or a systemd credential and who may only touch the queue's keys."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.fake_sms_api import FakeSmsApi
from tests.support.redis_server import RedisServer, free_port

Cli = Callable[..., subprocess.CompletedProcess[str]]
SEED = '{"template_id":123,"mobiles":["13800138000","13800138001"],"content":"Test SMS"}'
PASSWORD = "s3cret-acl-pass"


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate."""
    d = tmp_path_factory.mktemp("tls")
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=smsworker test CA",
        cwd=d,
    )
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name in ("server", "client"):
        openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN={name}",
            cwd=d,
        )
        extra = ["-extfile", "server.ext"] if name == "server" else []
        openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.crt",
            "-days",
            "2",
            *extra,
            cwd=d,
        )
    return d


@pytest.fixture
def tls_redis(certificates: Path, tmp_path: Path) -> Iterator[tuple[RedisServer, int]]:
    tls_port = free_port()
    server = RedisServer(
        tmp_path / "tls",
        extra_args=(
            "--tls-port",
            str(tls_port),
            "--tls-cert-file",
            str(certificates / "server.crt"),
            "--tls-key-file",
            str(certificates / "server.key"),
            "--tls-ca-cert-file",
            str(certificates / "ca.crt"),
            "--tls-auth-clients",
            "yes",
        ),
    )
    server.start()
    yield server, tls_port
    server.stop()


@pytest.fixture
def acl_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(
        tmp_path / "acl",
        extra_args=(
            "--user",
            "smsworker",
            "on",
            f">{PASSWORD}",
            "~sms_queue",
            "~{sms_queue}:*",
            "&*",
            "+@all",
            "-@dangerous",
            "+info",
        ),
    )
    server.start()
    yield server
    server.stop()


def test_tls_with_a_client_certificate(
    tls_redis: tuple[RedisServer, int], certificates: Path, cli: Cli, fake_api: FakeSmsApi
) -> None:
    server, tls_port = tls_redis
    server.client().lpush("sms_queue", SEED)
    url = f"rediss://127.0.0.1:{tls_port}/0"
    tls = [
        "--redis-tls-ca-file",
        str(certificates / "ca.crt"),
        "--redis-tls-cert-file",
        str(certificates / "client.crt"),
        "--redis-tls-key-file",
        str(certificates / "client.key"),
    ]
    result = cli("drain", "--redis-url", url, *tls, "--provider", "http", "--http-url", fake_api.url)
    assert result.returncode == 0, result.stderr
    assert sorted(fake_api.delivered) == ["+8613800138000", "+8613800138001"]
    no_client_cert = cli("check", "--redis-url", url, "--redis-tls-ca-file", str(certificates / "ca.crt"))
    assert no_client_cert.returncode == 1
    assert no_client_cert.stderr.startswith(f"Error: cannot reach Redis at {url}")


def test_acl_user_with_a_password_file(
    acl_redis: RedisServer, cli: Cli, fake_api: FakeSmsApi, tmp_path: Path
) -> None:
    acl_redis.client().lpush("sms_queue", SEED)
    password_file = tmp_path / "redis-password"
    password_file.write_text(PASSWORD + "\n")
    url = f"redis://127.0.0.1:{acl_redis.port}/0"
    auth = ["--redis-username", "smsworker", "--redis-password-file", str(password_file)]
    result = cli("drain", "--redis-url", url, *auth, "--provider", "http", "--http-url", fake_api.url)
    assert result.returncode == 0, result.stderr
    assert sorted(fake_api.delivered) == ["+8613800138000", "+8613800138001"]
    assert PASSWORD not in result.stdout + result.stderr
    # The user really is fenced in: it may not touch other keys.
    limited: Any = redis.Redis(port=acl_redis.port, username="smsworker", password=PASSWORD)
    with pytest.raises(redis.exceptions.NoPermissionError):
        limited.set("someone_elses_key", "x")
    limited.close()


def test_password_from_the_systemd_credential(acl_redis: RedisServer, cli: Cli, tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "redis_password").write_text(PASSWORD)
    url = f"redis://127.0.0.1:{acl_redis.port}/0"
    user = ("--redis-url", url, "--redis-username", "smsworker")
    ok = cli("check", *user, CREDENTIALS_DIRECTORY=str(credentials))
    assert ok.returncode == 0, ok.stderr
    wrong = cli("check", *user)
    assert wrong.returncode == 1 and "Traceback" not in wrong.stderr
    missing = cli("check", "--redis-password-file", str(tmp_path / "nope"))
    assert missing.returncode == 2 and missing.stderr.startswith("Error: cannot read redis_password_file")
