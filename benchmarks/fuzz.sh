#!/usr/bin/env bash
# A long schemathesis run over every operation of /openapi.json against a live `fhirtrial serve`:
# no 5xx, responses conform to the schema (status codes, content types, bodies).
#   benchmarks/fuzz.sh [MAX_EXAMPLES=300] [extra `st run` options...]
# Uses a fresh SQLite database in a temporary directory (or FHIRTRIAL_TEST_DATABASE_URL if set: a throwaway one).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
ST=${ST:-.venv/bin/st}
MAX_EXAMPLES=${1:-300}
shift || true
TMP=$(mktemp -d)
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export FHIRTRIAL_DATABASE_URL=${FHIRTRIAL_TEST_DATABASE_URL:-sqlite:///$TMP/fuzz.db}
export FHIRTRIAL_API_TOKEN=fuzz-token
$PY -c "from fhirtrial.store.migrate import migrate; import os; migrate(os.environ['FHIRTRIAL_DATABASE_URL'])"
$PY -m fhirtrial.cli.main serve --port "$PORT" >"$TMP/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; echo "server log: $TMP/server.log"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/fhir/metadata" >/dev/null && break; sleep 0.2; done
"$ST" run "http://127.0.0.1:$PORT/openapi.json" --url "http://127.0.0.1:$PORT" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  --header "Authorization: Bearer $FHIRTRIAL_API_TOKEN" --max-examples "$MAX_EXAMPLES" --workers 1 \
  --phases examples,coverage,fuzzing,stateful --request-timeout 30 "$@"
