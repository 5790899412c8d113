#!/usr/bin/env bash
# bench/deps.sh: what bench/run.sh needs besides seam's own build
# dependencies, checked before anything runs (run.sh calls it first).
#
#   nginx     the minimal reverse proxy compared with (Debian nginx-light)
#   gnuplot   the plots of REPORT.md (gnuplot-nox: no X11)
#   wrk       the throughput cross-check
#   valgrind  callgrind's instructions per request
#   jq, curl  results and smoke checks
#   node/npm  Portkey's gateway (@portkey-ai/gateway, pinned in package.json)
#
# As root, missing Debian packages are installed with apt-get; otherwise the
# script names them and stops. Installing nginx on Debian starts a system
# nginx on port 80 by default: a temporary policy-rc.d forbids that (the
# benchmark runs its own instance). Then `npm ci --ignore-scripts` installs
# the gateway from package-lock.json if node_modules is missing.
set -euo pipefail
cd "$(dirname "$0")"

need=()
have() { command -v "$1" >/dev/null 2>&1; }
[ -x /usr/sbin/nginx ] || have nginx || need+=(nginx-light)
have gnuplot || need+=(gnuplot-nox)
have wrk || need+=(wrk)
have valgrind || need+=(valgrind)
have jq || need+=(jq)
have curl || need+=(curl)
have node || need+=(nodejs)
have npm || need+=(npm)

if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "deps.sh: missing Debian packages: ${need[*]}" >&2
        echo "deps.sh: install them with: sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
        exit 1
    fi
    echo "deps.sh: installing ${need[*]}"
    # policy-rc.d exiting 101 tells invoke-rc.d not to start services; only
    # ours is removed afterwards (a pre-existing one is left alone).
    own_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        own_policy=1
    fi
    rc=0
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
        apt-get install -y -q --no-install-recommends "${need[@]}"; } >/tmp/seam-bench-apt.log 2>&1 || rc=$?
    [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
    if [ $rc -ne 0 ]; then
        echo "deps.sh: apt-get failed (status $rc); see /tmp/seam-bench-apt.log" >&2
        tail -n 5 /tmp/seam-bench-apt.log >&2
        exit 1
    fi
fi

if [ ! -f node_modules/@portkey-ai/gateway/build/start-server.js ]; then
    echo "deps.sh: npm ci --ignore-scripts (Portkey's gateway, pinned in bench/package-lock.json)"
    npm ci --ignore-scripts --no-audit --no-fund >/tmp/seam-bench-npm.log 2>&1 || {
        echo "deps.sh: npm ci failed; see /tmp/seam-bench-npm.log" >&2
        tail -n 5 /tmp/seam-bench-npm.log >&2
        exit 1
    }
fi
exit 0
