#!/usr/bin/env bash
# Installs what tsbuild and its tests need on Debian 12, builds it, and runs a real build offline.
# Run as root (it installs Debian packages). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")"

DEBIAN_PACKAGES=(
  busybox-static          # the offline base image
  skopeo umoci oci-image-tool podman buildah runc   # independent checks of what tsbuild produces
  docker-registry apache2-utils openssl            # a real registry for the registry tests
  uidmap fuse-overlayfs   # rootless builds
  git ca-certificates jq xz-utils bzip2 zstd pigz iproute2 procps util-linux time
  g++ make python3 libseccomp-dev   # the native addon and the RUN helper's syscall filter
)

if [ "$(id -u)" = 0 ]; then
  echo "==> installing Debian packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${DEBIAN_PACKAGES[@]}" >/dev/null
else
  echo "==> not root: skipping Debian packages (needed: ${DEBIAN_PACKAGES[*]})"
fi

echo "==> installing npm dependencies"
npm ci --no-audit --no-fund --loglevel=error
echo "==> building the native addon and the TypeScript sources"
npm run build --silent
chmod +x bin/tsbuild dist/cli/main.js
if [ "$(id -u)" = 0 ]; then
  # Put `tsbuild` on PATH.
  ln -sf "$PWD/bin/tsbuild" /usr/local/bin/tsbuild
fi

if [ "${TSBUILD_SKIP_DEMO:-}" != 1 ]; then
  ./scripts/demo.sh
fi
