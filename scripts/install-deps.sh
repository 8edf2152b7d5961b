#!/usr/bin/env bash
# Installs everything the build and the tests need on a fresh Debian 12 machine (run as root).
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  # kernel build
  build-essential flex bison bc libelf-dev libssl-dev libncurses-dev dwarves kmod cpio ccache pigz zstd xz-utils patch rsync git file time
  # cross toolchains
  gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu
  # the shipped series' sources
  linux-source-6.1 linux-source-6.12
  # boot tests and image interop
  qemu-system-x86 qemu-system-arm busybox-static skopeo umoci
  # the interactive config editor test drives menuconfig in a terminal
  tmux
  # the registry the publishing tests run against
  docker-registry apache2-utils
  # repackaging distribution kernels (.rpm)
  rpm
)

# The aarch64 boot test needs an arm64 static busybox in its initramfs: enable the architecture
# so apt can download that one package (it is unpacked below, not installed over the host's).
need_update=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  need_update=1
fi

# kernel-6.1-rt takes Debian's RT patch set from the linux source package (apt-get source): enable
# deb-src next to the deb lines when the system's sources do not have them yet.
if ! grep -rqs '^Types:.*deb-src\|^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  for sources in /etc/apt/sources.list.d/debian.sources; do
    [ -f "$sources" ] && sed 's/^Types: deb$/Types: deb-src/' "$sources" > /etc/apt/sources.list.d/linuxkit-kernels-deb-src.sources && need_update=1
  done
  if [ -f /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list; then
    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > /etc/apt/sources.list.d/linuxkit-kernels-deb-src.list && need_update=1
  fi
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ] || [ "$need_update" = 1 ]; then
  apt-get update
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
busybox_dir=/usr/local/lib/linuxkit-kernels/busybox/aarch64
if [ ! -x "$busybox_dir/busybox" ]; then
  scratch=$(mktemp -d)
  (cd "$scratch" && apt-get download busybox-static:arm64 && dpkg-deb -x busybox-static_*_arm64.deb unpacked)
  mkdir -p "$busybox_dir"
  install -m 0755 "$scratch/unpacked/bin/busybox" "$busybox_dir/busybox"
  rm -rf "$scratch"
fi

# The Debian package starts a registry on :5000 as a service; tests start their own on loopback.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now docker-registry >/dev/null 2>&1 || true; fi

npm ci --no-audit --no-fund
