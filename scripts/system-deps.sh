#!/usr/bin/env bash
# Installs the Debian packages leadguide needs (as root), or says which are missing.
#   scripts/system-deps.sh build   -> what `make pdf` needs
#   scripts/system-deps.sh test    -> that, plus what the test suite needs
set -euo pipefail
build_pkgs=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 libjpeg62-turbo libopenjp2-7 fonts-dejavu-core poppler-utils fonts-noto-core fonts-droid-fallback fonts-symbola)
test_pkgs=(chromium chromium-driver npm redis-server openssl)
want=("${build_pkgs[@]}")
[ "${1:-build}" = test ] && want+=("${test_pkgs[@]}")

missing=()
for pkg in "${want[@]}"; do
  # A machine whose Node.js comes from elsewhere already has npm; Debian's npm would clash with it.
  [ "$pkg" = npm ] && command -v npm >/dev/null && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "Missing system packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
