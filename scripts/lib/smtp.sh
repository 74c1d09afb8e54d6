# shellcheck shell=bash
# The SMTP stand-in for the tests of the `smtp` adapter. Meant to be sourced:
#
#   source scripts/lib/smtp.sh && setup_smtp
#   cargo test -p alerta-adapters --features smtp --test adapters -- smtp dispatch
#
# `setup_smtp` makes (or reuses) the project virtualenv `.venv`, installs aiosmtpd into it when
# missing, and exports what the tests read:
#   ALERTA_TEST_PYTHON      the virtualenv's python
#   ALERTA_TEST_SMTP_SINK   scripts/smtp_sink.py, which the tests start on ports of their own
# The tests also run `openssl` to make their TLS certificate.
# Being sourced, it sets no shell options and returns non-zero instead of exiting.

setup_smtp() {
    local root venv
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)" || return 1
    venv="$root/.venv"
    if [ ! -x "$venv/bin/python" ]; then
        python3 -m venv "$venv" || {
            echo "setup_smtp: 'python3 -m venv $venv' failed (Debian: apt-get install python3-venv)" >&2
            return 1
        }
    fi
    if ! "$venv/bin/python" -c 'import aiosmtpd' 2>/dev/null; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'aiosmtpd>=1.4,<2' || {
            echo "setup_smtp: installing aiosmtpd into $venv failed" >&2
            return 1
        }
    fi
    if ! command -v openssl >/dev/null 2>&1; then
        echo "setup_smtp: openssl is missing; the STARTTLS tests need it to make a certificate" >&2
        return 1
    fi
    export ALERTA_TEST_PYTHON="$venv/bin/python"
    export ALERTA_TEST_SMTP_SINK="$root/scripts/smtp_sink.py"
}
