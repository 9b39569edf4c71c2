#!/usr/bin/env bash
# Installs what the DokuWiki connector's tests need: DokuWiki from the Debian package (2022-07-31
# "Igor" on bookworm), with PHP's command line and XML extension. Does nothing when they are
# already installed. The tests serve each wiki with `php -S` on 127.0.0.1; the apache2 the
# package pulls in is not needed, so it is stopped if the install started it.
set -euo pipefail

packages=(dokuwiki php-cli php-xml)

installed() {
  dpkg-query -W -f='${Status}\n' "${packages[@]}" 2>/dev/null \
    | grep -c '^install ok installed$' | grep -qx "${#packages[@]}"
}

if installed; then
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
