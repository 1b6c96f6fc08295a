#!/usr/bin/env bash
# Install what the demo and the tests need, and only what is missing:
#   Debian packages: redis-server (with redis-cli), python3-venv, and for the PHP producer's tests
#   php-cli with php-redis (phpredis) and php-nrk-predis (Predis); chromium and chromium-driver for
#   the browser test of the PHP example; systemd for systemd-analyze (the unit tests); prometheus
#   for promtool (the alert rules' check; nothing is started); a CJK font, so the dashboard's
#   Chinese pages show real glyphs in the browser tests' screenshots
#   a virtualenv (.venv) with smsworker and its test and lint tools
# Safe to run again: it does nothing when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
# "demo" needs only Redis and the venv; "test" (the default) also PHP, Chromium and systemd-analyze.
PURPOSE=${1:-test}
PYTHON=${PYTHON:-python3}
apt_updated=0

apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: missing $*; install it with your package manager and run this again" >&2
        exit 1
    fi
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    if [ "$apt_updated" -eq 0 ]; then
        echo "bootstrap: apt-get update" >&2
        $sudo apt-get update -qq
        apt_updated=1
    fi
    echo "bootstrap: apt-get install $*" >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v "$PYTHON" >/dev/null 2>&1 || missing+=(python3)
if command -v "$PYTHON" >/dev/null 2>&1 && ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    missing+=(python3-venv)
fi
if [ "$PURPOSE" = "test" ]; then
    command -v php >/dev/null 2>&1 || missing+=(php-cli)
    # Not grep -q: it stops reading at the first match, php then dies of SIGPIPE writing the rest,
    # and pipefail makes the whole test fail now and then (a needless apt-get run).
    if ! { command -v php >/dev/null 2>&1 && php -m 2>/dev/null | grep -x redis >/dev/null; }; then
        missing+=(php-redis)
    fi
    [ -f /usr/share/php/Predis/Autoloader.php ] || missing+=(php-nrk-predis)
    command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
    command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
    if ! { command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]; }; then
        missing+=(fonts-wqy-microhei)
    fi
fi
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "error: smsworker needs Python 3.11 or newer; $PYTHON is $("$PYTHON" --version)" >&2
    exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "bootstrap: creating $VENV" >&2
    "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "bootstrap: pip install -e '.[test,dev]'" >&2
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[test,dev]'
    touch "$stamp"
fi
