#!/usr/bin/env bash
# Installs every Debian and npm package that building, running and testing
# seam needs. Safe to run again; run as root (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

DEBS=(
  build-essential clang libclang-rt-14-dev pkg-config make clang-format
  libevent-dev libcurl4-openssl-dev libjansson-dev libfyaml-dev libcmocka-dev
  ca-certificates curl nodejs npm
)

missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Integration tests and fake upstreams run on Node with the official client
# packages; package-lock.json pins their versions.
if [ -f package.json ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error
  else npm install --no-audit --no-fund --loglevel=error; fi
fi
