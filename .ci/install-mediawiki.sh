#!/usr/bin/env bash
# What the MediaWiki connector's tests need: MediaWiki 1.39 from the Debian packages, with PHP's
# command line and SQLite driver.
exec bash "$(dirname "$0")/install-packages.sh" mediawiki php-sqlite3 php-cli
