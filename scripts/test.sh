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
mkdir -p test-artifacts
npx vitest run --reporter=default --reporter=json --outputFile.json=test-artifacts/vitest.json "$@"
# One plain closing line for tools that read it (vitest's own summary is coloured and split).
node -e '
  const r = require("./test-artifacts/vitest.json");
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
'
