#!/usr/bin/env bash
# What the DokuWiki connector's tests need: DokuWiki from the Debian package (2022-07-31 "Igor"
# on bookworm), with PHP's command line and XML extension.
exec bash "$(dirname "$0")/install-packages.sh" dokuwiki php-cli php-xml
