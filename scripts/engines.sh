#!/usr/bin/env bash
# Starts the engines the tests use when they are down: PostgreSQL
# (127.0.0.1:5432), Redis (127.0.0.1:6379) and NATS with JetStream
# (127.0.0.1:4222), with the commands this machine kind documents. An engine
# that cannot be started is reported; its tests then skip with a reason.
# The S3-compatible server (s3s-fs) is started by each test on its own port.
set -uo pipefail

say() { printf '\033[1;34m[engines]\033[0m %s\n' "$*"; }

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_up() {
  for _ in $(seq 1 50); do
    up "$1" && return 0
    sleep 0.2
  done
  return 1
}

start() {
  local name="$1" port="$2"
  shift 2
  if up "$port"; then
    say "$name is up on 127.0.0.1:$port"
    return
  fi
  say "starting $name"
  if "$@" >/dev/null 2>&1 && wait_up "$port"; then
    say "$name is up on 127.0.0.1:$port"
  else
    say "$name could not be started; its tests will skip"
  fi
}

pg_start() {
  local version
  version="$(ls /etc/postgresql 2>/dev/null | head -n1)"
  [ -n "$version" ] && pg_ctlcluster --skip-systemctl-redirect "$version" main start
}

start PostgreSQL 5432 pg_start
start Redis 6379 redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
  --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
start NATS 4222 start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
  -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
exit 0
