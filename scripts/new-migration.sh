#!/usr/bin/env bash
# Dev helper: writes prisma/migrations/<timestamp>_<name>/migration.sql with the
# SQL that turns the committed schema (HEAD) into the working prisma/schema.prisma.
# Needs a running PostgreSQL in DATABASE_URL (the Prisma CLI connects through
# its JS engine even to diff two schema files): `npm start` runs one on
# postgresql://postgres:cloudless@127.0.0.1:54329/cloudless.
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: scripts/new-migration.sh <name>}
: "${DATABASE_URL:=postgresql://postgres:cloudless@127.0.0.1:54329/cloudless}"
export DATABASE_URL
before=$(mktemp --suffix=.prisma)
trap 'rm -f "$before"' EXIT
git show HEAD:prisma/schema.prisma > "$before"
dir="prisma/migrations/$(date -u +%Y%m%d%H%M%S)_${name}"
mkdir -p "$dir"
CHECKPOINT_DISABLE=1 npx prisma migrate diff --from-schema-datamodel "$before" \
  --to-schema-datamodel prisma/schema.prisma --script > "$dir/migration.sql"
echo "wrote $dir/migration.sql"
