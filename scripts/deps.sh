#!/usr/bin/env bash
# Installs the system packages the local stack needs (Debian's MariaDB for
# Trillian). Python tools come from `make venv`; Go tools from `go install`.
set -euo pipefail
if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ]; then
  echo "installing mariadb-server (Trillian's database for the CT log and Rekor v1)"
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: mariadb-server is missing and this is not root: run 'sudo apt-get install -y --no-install-recommends mariadb-server'" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mariadb-server >/dev/null
fi
command -v openssl >/dev/null || { echo "error: openssl is missing" >&2; exit 1; }
