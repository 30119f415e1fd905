# Sourced by scripts/start.sh and scripts/test.sh: installs npm dependencies
# when they are missing or older than the lockfile, and generates the Prisma
# client when the schema changed. Safe to run every time (fast when current).
set -euo pipefail

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "Cloudless needs Node.js 20 or newer (found $(node --version))." >&2
  exit 1
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "› Installing npm dependencies (npm ci)…"
  npm ci --no-audit --no-fund --loglevel=error
fi

# Prisma reads the schema's env("DATABASE_URL") even to generate; any URL will do.
schema_hash=$(sha256sum prisma/schema.prisma | cut -d' ' -f1)
if [ ! -f node_modules/.prisma/client/index.js ] || [ "$(cat node_modules/.prisma/.schema-hash 2>/dev/null)" != "$schema_hash" ]; then
  echo "› Generating the Prisma client…"
  DATABASE_URL="${DATABASE_URL:-postgresql://localhost/unused}" CHECKPOINT_DISABLE=1 \
    npx prisma generate >/dev/null
  echo "$schema_hash" > node_modules/.prisma/.schema-hash
fi
