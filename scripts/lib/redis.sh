# shellcheck shell=bash
# A private redis-server, the broker the Redis adapter tests run against.
#
# Meant to be sourced, not run:
#
#   source scripts/lib/redis.sh && start_redis
#   cargo test -p alerta-adapters --features redis --test adapters -- broker
#   stop_redis
#
# start_redis installs Debian's redis-server package (as root, or with sudo) when
# `redis-server` is missing, starts one without persistence on a free loopback port, waits
# until it answers PING, and exports ALERTA_TEST_REDIS_URL and ALERTA_REDIS_PID.
# stop_redis stops the server this shell started. Both return non-zero on failure and never
# exit the calling shell themselves, so they behave the same with or without `set -e`.

_alerta_redis_install() {
    local sudo="" install
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    # sudo resets the environment, so DEBIAN_FRONTEND goes through env.
    install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server)
    echo "redis: installing the Debian package redis-server"
    # The package lists may be stale or absent on a fresh machine: refresh them only when
    # the first attempt needs it.
    if ! $sudo "${install[@]}" >/dev/null; then
        { $sudo apt-get update -qq && $sudo "${install[@]}" >/dev/null; } || {
            echo "redis: installing redis-server failed" >&2
            return 1
        }
    fi
}

start_redis() {
    if [ -n "${ALERTA_REDIS_PID:-}" ] && kill -0 "$ALERTA_REDIS_PID" 2>/dev/null; then
        echo "redis: already running at ${ALERTA_TEST_REDIS_URL:-?} (pid $ALERTA_REDIS_PID)"
        return 0
    fi
    local port log tries
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
        _alerta_redis_install || return 1
    fi
    # The kernel picks a free port; the short gap before redis binds it is harmless on a
    # machine where nothing else hunts for ports.
    port="$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()')" || return 1
    log="${TMPDIR:-/tmp}/alerta-redis-$port.log"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
        >"$log" 2>&1 &
    ALERTA_REDIS_PID=$!
    export ALERTA_REDIS_PID
    tries=0
    until [ "$(redis-cli -p "$port" ping 2>/dev/null)" = "PONG" ]; do
        tries=$((tries + 1))
        if ! kill -0 "$ALERTA_REDIS_PID" 2>/dev/null || [ "$tries" -ge 150 ]; then
            echo "redis: did not start on port $port; its log ($log):" >&2
            cat "$log" >&2
            stop_redis
            return 1
        fi
        sleep 0.2
    done
    export ALERTA_TEST_REDIS_URL="redis://127.0.0.1:$port"
    echo "redis: listening at $ALERTA_TEST_REDIS_URL (pid $ALERTA_REDIS_PID, log $log)"
}

stop_redis() {
    if [ -n "${ALERTA_REDIS_PID:-}" ]; then
        kill "$ALERTA_REDIS_PID" 2>/dev/null || true
        wait "$ALERTA_REDIS_PID" 2>/dev/null || true
        echo "redis: stopped (pid $ALERTA_REDIS_PID)"
    fi
    unset ALERTA_REDIS_PID ALERTA_TEST_REDIS_URL
    return 0
}
