# moto in server mode, the stand-in for DynamoDB and S3 that the AWS adapter tests run against.
#
# Meant to be sourced, not run:
#
#   source scripts/lib/moto.sh && start_moto
#   cargo test -p alerta-adapters --features dynamodb,s3 --test adapters -- dynamodb s3
#   stop_moto
#
# start_moto installs `moto[server]` into the project's virtualenv (.venv) when it is missing,
# starts moto's server (through scripts/moto_server.py, one request at a time) on a free
# loopback port, waits until it answers, and exports
# ALERTA_TEST_AWS_ENDPOINT with the static test credentials and region the tests use.
# stop_moto stops the server this shell started. Both return non-zero on failure and never
# exit the calling shell themselves, so they behave the same with or without `set -e`.

_alerta_moto_root() {
    (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
}

start_moto() {
    if [ -n "${ALERTA_MOTO_PID:-}" ] && kill -0 "$ALERTA_MOTO_PID" 2>/dev/null; then
        echo "moto: already running at ${ALERTA_TEST_AWS_ENDPOINT:-?} (pid $ALERTA_MOTO_PID)"
        return 0
    fi
    local root venv port log tries
    root="$(_alerta_moto_root)" || return 1
    venv="$root/.venv"
    if [ ! -x "$venv/bin/python" ]; then
        echo "moto: creating the virtualenv $venv"
        python3 -m venv "$venv" || return 1
    fi
    if [ ! -x "$venv/bin/moto_server" ]; then
        echo "moto: installing moto[server] into $venv"
        "$venv/bin/python" -m pip install --quiet 'moto[server]' || return 1
    fi
    # The kernel picks a free port; the short gap before moto binds it is harmless on a
    # machine where nothing else hunts for ports.
    port="$("$venv/bin/python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()')" || return 1
    log="${TMPDIR:-/tmp}/alerta-moto-$port.log"
    # One request at a time: see the script for why.
    "$venv/bin/python" "$root/scripts/moto_server.py" --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
    ALERTA_MOTO_PID=$!
    export ALERTA_MOTO_PID
    tries=0
    until "$venv/bin/python" -c "import urllib.request, sys
urllib.request.urlopen('http://127.0.0.1:$port/moto-api/data.json', timeout=1)" 2>/dev/null; do
        tries=$((tries + 1))
        if ! kill -0 "$ALERTA_MOTO_PID" 2>/dev/null || [ "$tries" -ge 150 ]; then
            echo "moto: did not start on port $port; its log ($log):" >&2
            cat "$log" >&2
            stop_moto
            return 1
        fi
        sleep 0.2
    done
    export ALERTA_TEST_AWS_ENDPOINT="http://127.0.0.1:$port"
    export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1
    echo "moto: listening at $ALERTA_TEST_AWS_ENDPOINT (pid $ALERTA_MOTO_PID, log $log)"
}

stop_moto() {
    if [ -n "${ALERTA_MOTO_PID:-}" ]; then
        kill "$ALERTA_MOTO_PID" 2>/dev/null || true
        wait "$ALERTA_MOTO_PID" 2>/dev/null || true
        echo "moto: stopped (pid $ALERTA_MOTO_PID)"
    fi
    unset ALERTA_MOTO_PID ALERTA_TEST_AWS_ENDPOINT
    return 0
}
