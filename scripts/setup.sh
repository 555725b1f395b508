#!/usr/bin/env bash
# Set up everything the engine needs on a Debian 12 machine, idempotently:
# system packages, MariaDB and Redis (started if not running; RabbitMQ too for the tests
# and for a .env whose CELERY_BROKER_URL is amqp://), bcoin (npm, patched),
# the Python virtualenv, a .env with generated secrets, and the database.
#
#   scripts/setup.sh            for `make run` (also migrates the dev database)
#   scripts/setup.sh --tests    for `make test` (the test database is pytest's)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
MODE=${1:-run}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# --- system packages ---------------------------------------------------------------
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in monero libmariadb-dev pkg-config chromium wrk; do
  have_pkg "$pkg" || need+=("$pkg")
done
command -v make >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1 || need+=(build-essential)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
python3 -c "import venv, ensurepip" 2>/dev/null || need+=(python3-venv)
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
command -v mariadb-dump >/dev/null 2>&1 || need+=(mariadb-client)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# RabbitMQ: the fault scenarios' RabbitMQ variant (tests/faults/test_rabbitmq.py), and a
# development stack configured to use it as its broker.
want_rabbitmq=""
if [ "$MODE" = "--tests" ] || grep -qE '^CELERY_BROKER_URL=(py)?amqps?://' .env 2>/dev/null; then
  want_rabbitmq=1
  command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/sbin/rabbitmq-server ] || need+=(rabbitmq-server)
fi
if [ ${#need[@]} -gt 0 ]; then
  say "installing system packages: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# --- MariaDB, Redis and RabbitMQ -------------------------------------------------------
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done
  return 1
}
if ! port_open 3306; then
  say "starting MariaDB"
  $SUDO mkdir -p /run/mysqld && $SUDO chown mysql:mysql /run/mysqld 2>/dev/null || true
  $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  wait_port 3306 || die "MariaDB is not answering on 127.0.0.1:3306. Start it with:
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd"
fi
if ! port_open 6379; then
  say "starting Redis"
  $SUDO mkdir -p /var/lib/redis /var/log/redis
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  wait_port 6379 || die "Redis is not answering on 127.0.0.1:6379. Start it with:
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save \"\" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
fi

if [ -n "$want_rabbitmq" ] && ! port_open 5672; then
  say "starting RabbitMQ"
  $SUDO rabbitmq-server -detached >/dev/null 2>&1 || true
  # The Erlang VM takes a while to open its port on a loaded machine.
  for _ in $(seq 1 120); do port_open 5672 && break; sleep 0.5; done
  port_open 5672 || die "RabbitMQ is not answering on 127.0.0.1:5672. Start it with:
  rabbitmq-server -detached"
fi

# --- bcoin (npm) with the bdb patch ---------------------------------------------------
stamp_dir=var/stamps
mkdir -p "$stamp_dir"
lock_sum=$(sha256sum package.json package-lock.json patches/*.patch | sha256sum | cut -c1-16)
if [ ! -f "$stamp_dir/npm-$lock_sum" ] || [ ! -d node_modules/bcoin ]; then
  say "installing bcoin 1.0.2 (npm ci, with the bdb patch)"
  grep -q '^nodedir=' ~/.npmrc 2>/dev/null || { [ -d /usr/include/node ] && echo "nodedir=/usr" >> ~/.npmrc; }
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  grep -q "delete options\[k\]" node_modules/bdb/lib/db.js || die "the bdb patch was not applied (patch-package)"
  rm -f "$stamp_dir"/npm-*
  touch "$stamp_dir/npm-$lock_sum"
fi

# --- Python virtualenv -----------------------------------------------------------------
req_sum=$(sha256sum requirements.txt requirements-nodeps.txt | sha256sum | cut -c1-16)
if [ ! -x .venv/bin/python ]; then
  say "creating the virtualenv"
  python3 -m venv .venv
fi
# The stamp lives in the virtualenv it describes: a new virtualenv is always installed.
# It covers both requirement files: a change to either installs again.
if [ ! -f ".venv/requirements-$req_sum" ]; then
  say "installing Python requirements"
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
  rm -f .venv/requirements-* "$stamp_dir"/pip-*
  touch ".venv/requirements-$req_sum"
fi

# --- .env with generated secrets (never committed); missing keys are added -----------------
gen() { .venv/bin/python -c "import secrets; print(secrets.token_urlsafe($1))"; }
[ -f .env ] || echo "# Generated by scripts/setup.sh for the local regtest stack. Not committed." > .env
add_secret() {
  grep -qE "^$1=" .env || { echo "$1=$2" >> .env; say "wrote a generated $1 into .env"; }
}
add_secret SECRET_KEY "$(gen 48)"
add_secret BITCOIN_API_KEY "$(gen 24)"
add_secret FLOWER_BASIC_AUTH "operator:$(gen 12)"
add_secret DEMO_PASSWORD "$(gen 12)"
add_secret METRICS_TOKEN "$(gen 24)"
add_secret MONERO_WALLET_USER "exchange"
add_secret MONERO_WALLET_PASSWORD "$(gen 24)"
add_secret MONERO_DAEMON_USER "exchange"
add_secret MONERO_DAEMON_PASSWORD "$(gen 24)"

# --- database ------------------------------------------------------------------------
if [ "$MODE" = "run" ]; then
  db_name=$(.venv/bin/python - <<'EOF'
import environ, pathlib
env = environ.Env()
environ.Env.read_env(pathlib.Path(".env"))
print(env.db("DATABASE_URL", default="mysql://root@127.0.0.1:3306/exchange")["NAME"])
EOF
)
  mysql -uroot -h127.0.0.1 -e "CREATE DATABASE IF NOT EXISTS \`$db_name\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" \
    || die "cannot create database $db_name on 127.0.0.1:3306 as root"
  .venv/bin/python manage.py migrate --no-input -v 0
  .venv/bin/python manage.py setup_periodic_tasks >/dev/null
  .venv/bin/python manage.py collectstatic --no-input -v 0
fi
say "setup done"
