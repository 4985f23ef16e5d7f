#!/usr/bin/env bash
# Installs everything vmdkit's build, tests, demo and benchmark need (Debian 12, as root).
# Idempotent: when every package is already present it prints nothing and exits 0.
set -euo pipefail

PACKAGES=(
  g++ cmake ninja-build pkg-config git
  zlib1g-dev libdeflate-dev liburing-dev libboost-iostreams-dev nlohmann-json3-dev catch2 libcli11-dev
  qemu-utils libvmdk-utils python3-libvmdk
  clang libclang-rt-14-dev
  python3 coreutils bzip2 gzip
  strace
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}; run this script as root" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
