#!/usr/bin/env bash
# The full test suite against real services: PostgreSQL (127.0.0.1:5432, user postgres, trust auth),
# Redis (127.0.0.1:6379) with real `celery worker` processes, and headless Chromium for browser flows.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing Debian chromium + chromium-driver for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "Browser tests need /usr/bin/chromium: run 'sudo apt-get install chromium chromium-driver'." >&2
    exit 1
  fi
fi

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
export CELERY_BROKER_URL="${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}"
export DJANGO_SETTINGS_MODULE=webapp.settings
# Tests run tasks eagerly unless a test starts a real worker (tests/conftest.py: celery_queue).
export CELERY_TASK_ALWAYS_EAGER=1
export DJANGO_SECRET_KEY="${DJANGO_SECRET_KEY:-test-only-not-a-secret}"
export MVFIT_PSEUDONYM_KEY="${MVFIT_PSEUDONYM_KEY:-test-only-pseudonym-key}"
# Test data (media, logs) lives in a throwaway directory, never in ./data.
MVFIT_DATA_DIR="$(mktemp -d -t mvfit-test-XXXXXX)"
export MVFIT_DATA_DIR
trap 'rm -rf "$MVFIT_DATA_DIR"' EXIT

echo "==> ruff"
ruff check .
ruff format --check .
echo "==> pytest"
python -m pytest "$@"
