#!/usr/bin/env bash
# Installs the system packages the tests need from Debian: MariaDB (Trillian's
# database for the CT log and Rekor v1), Chromium (the job summary
# screenshot) and ShellCheck (actionlint's shell checks). Python tools come
# from `make venv`; Go tools from `go install`.
set -euo pipefail
need=()
if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  need+=(mariadb-server)
fi
# Debian's chromium; GitHub's Ubuntu runners carry google-chrome instead.
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 ||
  command -v google-chrome >/dev/null 2>&1 || need+=(chromium)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} from Debian's packages"
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing ${need[*]} and this is not root: run 'sudo apt-get install -y --no-install-recommends ${need[*]}'" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v openssl >/dev/null || { echo "error: openssl is missing" >&2; exit 1; }
