#!/bin/sh
# Kill-and-resume soak: SIGKILLs build, pull and push at random moments N times each (default 25),
# checking the store with `tsbuild check-store` after every kill. Needs a compiled tree (npm run build).
#   scripts/crash-loop.sh [ITERATIONS] [SEED]
set -eu
cd "$(dirname "$0")/.."
export TSBUILD_CRASH_ITERATIONS="${1:-25}"
[ $# -ge 2 ] && export TSBUILD_CRASH_SEED="$2"
exec node --test dist/test/integration/crash-kill.test.js
