#!/bin/sh
# Assemble the build context for tsbuild's own image: the node binary with exactly the shared
# libraries it links (found with ldd), tsbuild's compiled sources, production node_modules, the native
# addon and runtime helper, a static busybox for a shell, and the CA bundle for registries.
# No base image is needed (nothing is downloaded), so the image is built FROM scratch.
#   examples/image/prepare-context.sh OUT_DIR      (run from the repository, after ./setup.sh)
#   tsbuild build -t tsbuild -f examples/image/Containerfile OUT_DIR
set -eu
out=${1:?usage: prepare-context.sh OUT_DIR}
repo=$(cd "$(dirname "$0")/../.." && pwd)
node=$(command -v node)
rm -rf "$out" && mkdir -p "$out/rootfs/usr/local/bin" "$out/rootfs/app" "$out/rootfs/bin" "$out/rootfs/etc/ssl/certs"

cp "$node" "$out/rootfs/usr/local/bin/node"
# Every library node links, at the same path, plus the dynamic loader.
for lib in $(ldd "$node" | awk '/=>/ { print $3 } /^[ \t]*\// { print $1 }'); do
  mkdir -p "$out/rootfs$(dirname "$lib")"
  cp -L "$lib" "$out/rootfs$lib"
done

busybox=$(command -v busybox)
cp "$busybox" "$out/rootfs/bin/busybox"
for applet in sh ls cat id mkdir rm env; do ln -sf busybox "$out/rootfs/bin/$applet"; done
cp /etc/ssl/certs/ca-certificates.crt "$out/rootfs/etc/ssl/certs/"

cd "$repo"
cp package.json package-lock.json "$out/rootfs/app/"
cp -r dist "$out/rootfs/app/dist" && rm -rf "$out/rootfs/app/dist/test" "$out/rootfs/app/dist/bench"
mkdir -p "$out/rootfs/app/native/build/Release"
cp native/build/Release/tsbuild_native.node native/build/Release/tsbuild-run "$out/rootfs/app/native/build/Release/"
# Production dependencies only (no network needed: npm copies them from the local node_modules).
(cd "$out/rootfs/app" && cp -r "$repo/node_modules" node_modules && npm prune --omit=dev --no-audit --no-fund >/dev/null 2>&1 || true)
# The image's users: root, and the unprivileged "build" user pods run as (uid 1000).
printf 'root:x:0:0:root:/root:/bin/sh\nbuild:x:1000:1000:build:/home/build:/bin/sh\n' > "$out/rootfs/etc/passwd"
printf 'root:x:0:\nbuild:x:1000:\n' > "$out/rootfs/etc/group"
cp "$repo/examples/image/Containerfile" "$out/Containerfile"
