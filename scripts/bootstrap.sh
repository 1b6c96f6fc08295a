#!/usr/bin/env bash
# Install what one purpose needs, and only what is missing. The purpose is the first argument:
#   demo     redis-server (with redis-cli), python3-venv; a virtualenv (.venv) with smsworker alone
#   example  the demo's, and php-cli with php-redis (phpredis) for the one PHP page
#   test     the demo's, and for the tests: php-cli, php-redis, php-nrk-predis (Predis) for the PHP
#            producer; chromium and chromium-driver for the browser tests; systemd for
#            systemd-analyze (the unit files); prometheus for promtool (the alert rules' check; nothing
#            is started); a CJK font, so the dashboard's Chinese pages show real glyphs in the
#            browser tests' screenshots; faketime (libfaketime) for the quiet-hours test, which starts a
#            worker on a clock it sets; smsworker with its [test] extra
#   lint     python3-venv; smsworker with its [test] and [dev] extras (mypy reads the tests too)
#   all      (the default, `make deps`) what test and lint need together
# Safe to run again: it does nothing when everything is there.
# BOOTSTRAP_DRY_RUN=1 installs nothing: it prints "apt: <packages>" and "pip: <what pip would
# install>" (each empty when nothing is missing), so a test can hold each purpose to its list.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PURPOSE=${1:-all}
PYTHON=${PYTHON:-python3}
DRY_RUN=${BOOTSTRAP_DRY_RUN:-0}
apt_updated=0

case "$PURPOSE" in
    demo | example) extras=() ;;
    test) extras=(test) ;;
    lint | all) extras=(test dev) ;;
    *)
        echo "error: bootstrap.sh demo|example|test|lint|all, not '$PURPOSE'" >&2
        exit 2
        ;;
esac
wants() { case " $* " in *" $PURPOSE "*) return 0 ;; *) return 1 ;; esac }
has() { command -v "$1" >/dev/null 2>&1; }

apt_install() {
    if ! has apt-get; then
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
if wants demo example test all; then
    has redis-server || missing+=(redis-server)
    has redis-cli || missing+=(redis-tools)
fi
# Debian's python3 has no venv module: python3-venv brings it.
if ! has "$PYTHON"; then
    missing+=(python3 python3-venv)
elif ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    missing+=(python3-venv)
fi
if wants example test all; then
    has php || missing+=(php-cli)
    # Not grep -q: it stops reading at the first match, php then dies of SIGPIPE writing the rest,
    # and pipefail makes the whole test fail now and then (a needless apt-get run).
    if ! { has php && php -m 2>/dev/null | grep -x redis >/dev/null; }; then
        missing+=(php-redis)
    fi
fi
if wants test all; then
    # Where PHP looks for it (include_path), which is where the tests' require finds it.
    if ! { has php && php -r 'exit(stream_resolve_include_path("Predis/Autoloader.php") ? 0 : 1);'; }; then
        missing+=(php-nrk-predis)
    fi
    has systemd-analyze || missing+=(systemd)
    has chromium || missing+=(chromium)
    has chromedriver || missing+=(chromium-driver)
    has promtool || missing+=(prometheus)
    has faketime || missing+=(faketime)
    if ! { has fc-list && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]; }; then
        missing+=(fonts-wqy-microhei)
    fi
fi

# One stamp per extra ("base" is smsworker itself): a venv made by `make demo` gains the test tools
# when `make test` runs in it, and a changed pyproject.toml makes each stamp stale.
stale=()
for part in base "${extras[@]}"; do
    stamp="$VENV/.installed-$part"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        stale+=("$part")
    fi
done
spec=""
if [ "${#stale[@]}" -gt 0 ]; then
    spec="."
    [ "${#extras[@]}" -eq 0 ] || spec=".[$(IFS=,; echo "${extras[*]}")]"
fi

if [ "$DRY_RUN" = 1 ]; then
    echo "apt: ${missing[*]}"
    echo "pip: $spec"
    exit 0
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
if [ -n "$spec" ]; then
    echo "bootstrap: pip install -e '$spec'" >&2
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$spec"
    for part in base "${extras[@]}"; do
        touch "$VENV/.installed-$part"
    done
fi
