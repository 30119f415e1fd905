#!/usr/bin/env bash
# `npm start`: install what npm needs, build, then serve on port 3000.
# Migrations are applied by the server itself at boot (server/db/migrate.ts);
# with no DATABASE_URL an embedded PostgreSQL runs from .data/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure-node-deps.sh

# Docker runs the functions; without it the platform still serves everything
# else and reports the engine unavailable with the reason.
bash scripts/setup-docker.sh || echo "› Continuing without Docker: /docker calls will answer 503 with the reason."

echo "› Building the web app…"
npm run build --silent >/dev/null

exec node --import tsx server/main.ts
