#!/usr/bin/env bash
# Installs every Debian and npm package that building, running and testing
# seam needs. Safe to run again; run as root (or with sudo available).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

DEBS=(
  build-essential clang libclang-rt-14-dev pkg-config make clang-format
  libevent-dev libcurl4-openssl-dev libjansson-dev libfyaml-dev libcmocka-dev libvectorscan-dev
  libssl-dev                      # SHA-256 (libcrypto) for the audit hash chain
  libhiredis-dev redis-server     # state.redis: limits and budgets shared by replicas; tests start a redis-server
  libsqlite3-dev                  # the usage ledger (src/ledger/)
  sqlite3                         # CLI: the ledger integration test reads rows with it
  chromium                        # headless browser for the dashboard test (driven by playwright-core)
  ca-certificates curl
  jq wrk valgrind                 # benchmarks (make bench)
)
# Node.js runs the integration tests. Machines that already have a Node.js
# (e.g. NodeSource's package, which bundles npm and conflicts with Debian's
# npm) keep it; otherwise Debian's nodejs and npm are installed.
command -v node >/dev/null 2>&1 || DEBS+=(nodejs)
command -v npm >/dev/null 2>&1 || DEBS+=(npm)

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
# packages; the build embeds uPlot (the dashboard's charts) from
# node_modules, and the dashboard test drives chromium with playwright-core
# (the library only: it uses Debian's chromium, never downloads a browser).
# package-lock.json pins their versions.
if [ -f package.json ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error
  else npm install --no-audit --no-fund --loglevel=error; fi
fi
