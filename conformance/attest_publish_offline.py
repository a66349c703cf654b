"""pytest plugin: run sigstore-conformance's verification tests offline.

Loaded with ``-p attest_publish_offline`` (``PYTHONPATH`` pointing at this
directory) by ``make conformance``; it changes no file of the suite.

* The suite's ``identity_token`` fixture downloads a token from
  storage.googleapis.com. The verification tests never use its value (the
  ``client`` fixture only reads its ``email``, ``iss`` and ``exp`` claims), so
  every test that needs it is directly parametrized with an unsigned stand-in
  token. Direct parametrization overrides a fixture of the same name (pytest
  docs, "Override a fixture with direct test parametrization"); a plugin
  fixture could not, since the suite's conftest.py fixture would win.
* Network access fails loudly: while the session runs, resolving or connecting
  to anything but a loopback address raises ``NetworkBlocked``, and child
  processes (the client under test) get proxy variables pointing at a closed
  loopback port, so an HTTP client that honours them fails instead of going out.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import socket
import time

import pytest

# Port 9 (discard) on loopback: nothing listens there, connections are refused.
_DEAD_PROXY = "http://127.0.0.1:9"
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


class NetworkBlocked(RuntimeError):
    """Raised on any non-loopback network access during an offline conformance run."""


def _b64(claims: dict) -> str:
    # The suite decodes the payload with base64.b64decode (standard alphabet),
    # so encode with the standard alphabet, unpadded, as in a JWT.
    return base64.b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode().rstrip("=")


def stand_in_token() -> str:
    """An unsigned JWT-shaped token: never sent anywhere, never verified."""
    header = {"alg": "none", "typ": "JWT"}
    claims = {
        "iss": "https://offline.attest-publish.invalid",
        "sub": "sigstore-conformance-offline",
        "email": "sigstore-conformance-offline@attest-publish.invalid",
        "aud": "sigstore",
        "iat": int(time.time()),
        "exp": int(time.time()) + 3600,
    }
    return f"{_b64(header)}.{_b64(claims)}.unsigned"


_TOKEN = stand_in_token()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "identity_token" in metafunc.fixturenames:
        metafunc.parametrize("identity_token", [pytest.param(_TOKEN, id="offline-token")])


def _is_loopback(host) -> bool:
    if host is None:  # getaddrinfo(None, port): the local host
        return True
    if isinstance(host, bytes):
        host = host.decode("idna")
    host = str(host).strip("[]").split("%", 1)[0]
    if host.lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _blocked(what: str, target) -> NetworkBlocked:
    return NetworkBlocked(
        f"attest_publish_offline: {what} {target!r} blocked: the conformance run is offline "
        "(only loopback is allowed)"
    )


_saved: dict = {}


def pytest_configure(config: pytest.Config) -> None:
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host, *args, **kwargs):
        if not _is_loopback(host):
            raise _blocked("resolving", host)
        return real_getaddrinfo(host, *args, **kwargs)

    def check(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            raise _blocked("connecting to", address)

    def connect(self, address):
        check(self, address)
        return real_connect(self, address)

    def connect_ex(self, address):
        check(self, address)
        return real_connect_ex(self, address)

    _saved.update(
        getaddrinfo=real_getaddrinfo,
        connect=real_connect,
        connect_ex=real_connect_ex,
        env={k: os.environ.get(k) for k in (*_PROXY_VARS, "NO_PROXY", "no_proxy")},
    )
    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    for k in _PROXY_VARS:
        os.environ[k] = _DEAD_PROXY
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "localhost,127.0.0.1,::1"


def pytest_unconfigure(config: pytest.Config) -> None:
    if not _saved:
        return
    socket.getaddrinfo = _saved["getaddrinfo"]
    socket.socket.connect = _saved["connect"]
    socket.socket.connect_ex = _saved["connect_ex"]
    for k, v in _saved["env"].items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    _saved.clear()


def pytest_report_header(config: pytest.Config) -> str:
    return "attest_publish_offline: stand-in identity token, network limited to loopback"
