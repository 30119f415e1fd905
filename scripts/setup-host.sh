#!/usr/bin/env bash
# Installs the host packages the test suite needs (Debian): chromium for the
# browser tests, nginx for the cluster tests, qemu for the Nanos engine (its VM tests also need a Nanos
# kernel, which no package provides: they say so and skip without one), and a
# running Docker engine (scripts/setup-docker.sh).
# Idempotent; does nothing when everything is present.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
# nginx: the balancer of the cluster tests (and of `npm run cluster`).
command -v nginx >/dev/null 2>&1 || missing+=(nginx)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing host packages: ${missing[*]}. Install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "› Installing ${missing[*]} (apt)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

bash "$(dirname "$0")/setup-docker.sh"
