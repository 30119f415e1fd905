#!/usr/bin/env bash
# `npm test`: the whole suite — formatting and lint, types, then unit,
# integration (real PostgreSQL) and browser (Debian chromium) tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-host.sh
source scripts/lib/ensure-node-deps.sh

echo "› Lint and format (biome)…"
npx biome ci .
echo "› Type check (tsc)…"
npx tsc --noEmit
echo "› Tests (vitest)…"
npx vitest run "$@"
