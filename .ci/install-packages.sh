#!/usr/bin/env bash
# Installs the named Debian packages when any is missing (one apt-get update, then one install);
# does nothing when all are installed. The wiki packages pull in apache2, which the tests do
# not use (they serve each wiki with `php -S` on 127.0.0.1): it is stopped if the install
# started it.
set -euo pipefail

packages=("$@")

installed() {
  dpkg-query -W -f='${Status}\n' "${packages[@]}" 2>/dev/null \
    | grep -c '^install ok installed$' | grep -qx "${#packages[@]}"
}

if [ "${#packages[@]}" -eq 0 ] || installed; then
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  as_root=(sudo -n)
fi

echo "installing ${packages[*]}"
"${as_root[@]}" apt-get update -qq >/dev/null
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "${packages[@]}" >/dev/null

if command -v apache2ctl >/dev/null && pgrep -x apache2 >/dev/null; then
  "${as_root[@]}" apache2ctl stop >/dev/null 2>&1 || true
fi
