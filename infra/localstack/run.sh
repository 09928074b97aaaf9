#!/usr/bin/env bash
# LocalStack without Docker: LocalStack's own runtime from PyPI (localstack-core, Python 3.13, in
# its own virtual environment made by `make localstack-install`), serving SQS, S3, Secrets Manager
# and SSM on 127.0.0.1. Used by `make localstack` and by the e2e test (tests/e2e/conftest.py).
#
#   infra/localstack/run.sh [PORT]        # default 4566; state under .localstack/ (git-ignored)
#
# The `localstack` CLI wants an auth token and Docker; `python -m localstack.runtime.main` needs
# neither. Lambda and API Gateway v2 are not served this way: `make dev-aws` runs the functions.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VENV=${LOCALSTACK_VENV:-$ROOT/.tools/localstack-venv}
PORT=${1:-${LOCALSTACK_PORT:-4566}}
DATA=${LOCALSTACK_DATA:-$ROOT/.localstack}

if [ ! -x "$VENV/bin/python" ]; then
  echo "LocalStack is not installed in $VENV: run 'make localstack-install'" >&2
  exit 3
fi
mkdir -p "$DATA"

export GATEWAY_LISTEN="127.0.0.1:$PORT" LOCALSTACK_HOST="127.0.0.1:$PORT"
export GATEWAY_SERVER=hypercorn SQS_ENDPOINT_STRATEGY=path
export SERVICES=sqs,s3,secretsmanager,ssm
export OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT="$DATA"     # host paths, not /var/lib/localstack
export DISABLE_EVENTS=1 SKIP_SSL_CERT_DOWNLOAD=1 DNS_ADDRESS=0  # offline: no analytics, cert or DNS
exec "$VENV/bin/python" -m localstack.runtime.main
