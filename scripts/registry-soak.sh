#!/bin/sh
# Registry faults under load, the long version: OPS pulls and pushes (default 240) through the
# fault-injecting proxy on 127.0.0.1 in front of a local docker-registry, then check-store and the
# registry's tags and blobs (see test/integration/registry-soak.test.ts). Nothing leaves loopback.
# Needs a compiled tree (npm run build).
#   scripts/registry-soak.sh [OPS] [SEED]
# Environment: TSBUILD_SOAK_JOBS (parallel commands, 4), TSBUILD_SOAK_FAULT_RATE (0.1 per request),
# TSBUILD_SOAK_SECONDS (no new command starts after this; default 1800).
set -eu
cd "$(dirname "$0")/.."
export TSBUILD_SOAK_OPS="${1:-240}"
[ $# -ge 2 ] && export TSBUILD_SOAK_SEED="$2"
export TSBUILD_SOAK_SECONDS="${TSBUILD_SOAK_SECONDS:-1800}"
exec node --test dist/test/integration/registry-soak.test.js
