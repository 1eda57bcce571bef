#!/usr/bin/env bash
# `make stack-test`: prove the compose stack where Docker runs. Brings up a throwaway copy of the
# stack (its own project name and volumes, so your own stack's data is never touched), waits for
# Elasticsearch setup, runs the store contract suite against the live cluster, checks that the
# pipeline's user may read and write but not create indices, imports the Kibana saved objects
# once, and takes everything down again, volumes included, whatever happened.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-wirewatch-stack-test}
ENV_FILE=${ENV_FILE:-.env}
[[ -f $ENV_FILE ]] || ENV_FILE=.env.example
set -a
# shellcheck source=/dev/null
. "./$ENV_FILE"
set +a
compose=(docker compose --env-file "$ENV_FILE")
es_url="http://127.0.0.1:${ES_PORT:-9200}"

cleanup() { "${compose[@]}" down -v --remove-orphans; }
trap cleanup EXIT

echo "== compose up (build, start)"
"${compose[@]}" up -d --build

echo "== Elasticsearch setup (waits for Elasticsearch itself, up to 300 s)"
"${compose[@]}" run --rm setup-elasticsearch

echo "== store contract suite against $es_url"
WIREWATCH_ES_URL=$es_url WIREWATCH_ES_USERNAME=elastic WIREWATCH_ES_PASSWORD=$ELASTIC_PASSWORD \
    "$PYTHON" -m pytest tests/test_store_contract.py -k elasticsearch -q

echo "== least privilege: the pipeline user reads and writes wirewatch-*, creates no index"
as_pipeline=(curl -s -o /dev/null -w "%{http_code}" -u "wirewatch:$WIREWATCH_ES_PASSWORD")
count=$("${as_pipeline[@]}" "$es_url/wirewatch-articles/_count")
create=$("${as_pipeline[@]}" -X PUT "$es_url/wirewatch-not-allowed")
echo "count: HTTP $count (want 200), create index: HTTP $create (want 403)"
[[ $count == 200 && $create == 403 ]]

echo "== Kibana saved objects, imported once (waits for Kibana, up to 600 s)"
"${compose[@]}" run --rm setup-kibana

echo "== stack-test passed"
