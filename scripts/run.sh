#!/usr/bin/env bash
# `make run`: set everything up, bring the regtest stack up, then run web, worker, beat,
# Flower and the chain listener in the foreground. Ctrl-C stops all of it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
export PATH="$PWD/.venv/bin:$PATH"
WEB_PORT=$(grep -E '^WEB_PORT=' .env 2>/dev/null | cut -d= -f2 || true)
export WEB_PORT=${WEB_PORT:-8000}

cleanup() {
  trap - EXIT INT TERM
  echo "==> stopping the regtest stack"
  python manage.py regtest down || true
}
trap cleanup EXIT INT TERM

python manage.py regtest up
echo "==> demo users"
python manage.py bootstrap_demo
echo "==> rates and liquidity"
python manage.py warm_up
flower_auth=$(grep -E '^FLOWER_BASIC_AUTH=' .env | cut -d= -f2-)
metrics_token=$(grep -E '^METRICS_TOKEN=' .env | cut -d= -f2-)
cat <<EOF
==> the exchange engine on regtest
  web and API   http://127.0.0.1:$WEB_PORT/           (API root: /api/, docs: /api/docs/)
  admin         http://127.0.0.1:$WEB_PORT/admin/     (user staff)
  health        http://127.0.0.1:$WEB_PORT/healthz
  operations    http://127.0.0.1:$WEB_PORT/admin/operations/
  metrics       http://127.0.0.1:$WEB_PORT/metrics        (Authorization: Bearer $metrics_token)
  flower        http://127.0.0.1:${FLOWER_PORT:-5555}/  (basic auth $flower_auth)
  Ctrl-C stops everything.
EOF
honcho start -f Procfile
