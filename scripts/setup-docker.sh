#!/usr/bin/env bash
# Makes a Docker engine available on this Debian machine: installs docker.io
# from the OS packages when missing and starts dockerd when it is not running.
# Idempotent. Without root it only reports what is missing. Cloudless builds
# its runtime images itself, so no registry is ever contacted.
set -euo pipefail

if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Docker is not installed: sudo apt-get install -y docker.io" >&2
    exit 1
  fi
  echo "› Installing Docker's engine (apt: docker.io)…"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "The Docker engine is not running: start it (sudo systemctl start docker, or sudo dockerd &)" >&2
  exit 1
fi

echo "› Starting dockerd…"
if command -v systemctl >/dev/null 2>&1 && systemctl start docker >/dev/null 2>&1; then
  :
else
  mkdir -p /var/log
  nohup dockerd >/var/log/cloudless-dockerd.log 2>&1 &
fi
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 0.5
done
echo "dockerd did not come up; see /var/log/cloudless-dockerd.log" >&2
exit 1
