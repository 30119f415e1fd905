#!/usr/bin/env bash
# `npm run cluster`: install what the cluster needs (npm dependencies, Docker,
# nginx from Debian), build, then start it (scripts/cluster.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/ensure-node-deps.sh

# dockerd itself: each node runs a private one of its own (scripts/lib/private-dockerd.ts).
bash scripts/setup-docker.sh

if ! command -v nginx >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "› Installing nginx (Debian)…"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx >/dev/null
  else
    echo "nginx is missing: install it (apt-get install nginx) and run npm run cluster again." >&2
    exit 1
  fi
fi

echo "› Building the web app…"
npm run build --silent >/dev/null

exec node --import tsx scripts/cluster.ts
