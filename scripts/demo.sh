#!/usr/bin/env bash
# A real build, offline: make a busybox base image from Debian's busybox-static with tsbuild itself,
# build the demo image on it, and show what came out.
set -euo pipefail
cd "$(dirname "$0")/.."
tsbuild() { bin/tsbuild "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "==> building the busybox base image from busybox-static"
sh fixtures/busybox/make-context.sh "$work/busybox" >/dev/null
# A fixed timestamp makes the base reproducible: the same image ID on every machine and run.
tsbuild build -q --timestamp 1700000000 -t busybox "$work/busybox" >/dev/null
echo "==> tsbuild build -t tsbuild-demo fixtures/demo"
tsbuild build -t tsbuild-demo fixtures/demo
echo "==> tsbuild run tsbuild-demo"
tsbuild run tsbuild-demo
echo "==> tsbuild images"
tsbuild images
echo "==> exporting with: tsbuild push tsbuild-demo docker-archive:$work/demo.tar"
tsbuild push -q tsbuild-demo "docker-archive:$work/demo.tar:localhost/tsbuild-demo:latest"
if command -v skopeo >/dev/null; then
  echo "==> skopeo inspect docker-archive:$work/demo.tar (an independent tool reads the image)"
  skopeo inspect --config "docker-archive:$work/demo.tar" | jq -c '.config | {Cmd, Env, WorkingDir, Labels}'
fi
echo "==> demo done: the image is in the store as localhost/tsbuild-demo:latest"
