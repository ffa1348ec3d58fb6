#!/usr/bin/env bash
# The demo: embedded defaults (SQLite, local files under ./data, Celery tasks run eagerly - no Redis needed).
# Imports ../shared/media in place when present (else a synthetic ffmpeg library), samples excerpts,
# renders pairings, starts the server and prints the URLs to open.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
exec python manage.py demo "$@"
