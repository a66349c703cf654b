#!/usr/bin/env python3
"""A local PyPI trusted-publishing front, in front of a real pypiserver (test code).

Usage (with the project venv, /work/main/.cache/venv)::

    python test/indexfront/front.py --listen 127.0.0.1:PORT \\
        --upstream http://127.0.0.1:UPORT --upstream-auth user:pass \\
        --issuer http://127.0.0.1:8090 --trusted-root trusted_root.json \\
        --publishers publishers.json [--audience pypi] [--fail-after N]

``publishers.json`` is a list of::

    {"project": "attest-publish-sample", "kind": "github",
     "repository": "octo-org/octo-repo", "repository_owner": "octo-org",
     "repository_owner_id": "7890", "workflow": "release.yml", "environment": null}

Endpoints (warehouse's behaviour, see /work/shared/docs/anchors.md §2.4-2.6):

* ``GET  /_/oidc/audience``      -> ``{"audience": "<aud>"}``
* ``POST /_/oidc/mint-token``    (also ``/_/oidc/github/mint-token``) ``{"token": jwt}``
  -> ``{"success": true, "token": "pypi-...", "expires": now+900}`` or 422
  ``{"message": "Token request failed", "errors": [{"code", "description"}]}``
* ``POST /legacy/``              twine's multipart upload, ``__token__:<minted>``;
  PEP 740 ``attestations`` are verified with test/judges/pep740_verify.py (imported),
  then the identical multipart body is forwarded to pypiserver.
* ``GET  /integrity/<project>/<version>/<filename>/provenance``  Integrity API.
* ``GET  /simple/...``, ``/packages/...``  proxied to pypiserver.

Test-only extras (not PyPI): ``GET /_/front/uploads`` lists accepted uploads (JSON);
``POST /_/front/heal`` switches off the ``--fail-after`` breakage;
``POST /_/front/wrong-provenance`` with a JSON list of filenames makes the
Integrity API serve, for each, another file's provenance of the same release.

``--fail-after N``: after N successful uploads every further ``POST /legacy/`` is
answered by resetting the connection (no HTTP response), until ``/_/front/heal``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import email.parser
import hashlib
import email.policy
import http.client
import json
import re
import secrets
import socket
import struct
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt  # PyJWT (a sigstore dependency)
from pydantic import ValidationError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "judges"))
import pep740_verify  # noqa: E402  (the PyPI judge, reused as-is)
from pypi_attestations import Distribution  # noqa: E402

TOKEN_LIFETIME = 900  # warehouse: macaroon valid 15 minutes
PUBLISH_ERR = "Invalid attestations supplied during upload: "
MAX_BODY = 200 * 1024 * 1024


def normalize(name: str) -> str:
    """PEP 503 name normalization."""
    return re.sub(r"[-_.]+", "-", name).lower()


class MintError(Exception):
    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


_JOB_WORKFLOW_REF = re.compile(r"^([^/]+/[^/]+)/\.github/workflows/([^/@]+)@(.+)$")


class State:
    """Everything the front remembers (in memory)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.audience: str = args.audience
        self.issuer: str = args.issuer.rstrip("/")
        self.upstream = urllib.parse.urlsplit(args.upstream)
        self.upstream_auth = "Basic " + base64.b64encode(args.upstream_auth.encode()).decode()
        self.publishers: list[dict[str, Any]] = json.loads(Path(args.publishers).read_text())
        for p in self.publishers:
            if p.get("kind", "github").lower() != "github":
                raise SystemExit(f"only GitHub publishers are supported: {p}")
        self.verifier = (
            pep740_verify.load_verifier(args.trusted_root) if args.trusted_root else None
        )
        self.fail_after: int | None = args.fail_after
        self.successful_uploads = 0
        self.lock = threading.Lock()
        self.used_jti: dict[str, float] = {}  # jti -> exp
        self.tokens: dict[str, dict[str, Any]] = {}  # token -> {publisher, claims, expires}
        self.provenance: dict[tuple[str, str, str], dict[str, Any]] = {}
        # Test-only: files whose Integrity API provenance is another file's.
        self.wrong_provenance: set[str] = set()
        self.uploads: list[dict[str, Any]] = []
        self._jwks: jwt.PyJWKClient | None = None

    # ---- OIDC -------------------------------------------------------------

    def jwks_client(self) -> jwt.PyJWKClient:
        with self.lock:
            if self._jwks is None:
                url = self.issuer + "/.well-known/openid-configuration"
                with urllib.request.urlopen(url, timeout=10) as r:
                    disc = json.load(r)
                if disc.get("issuer", "").rstrip("/") != self.issuer:
                    raise RuntimeError(f"discovery issuer mismatch: {disc.get('issuer')}")
                self._jwks = jwt.PyJWKClient(disc["jwks_uri"], cache_keys=True, lifespan=60)
            return self._jwks

    def mint(self, body: bytes) -> dict[str, Any]:
        try:
            payload = json.loads(body)
            token = payload["token"]
            if not isinstance(token, str):
                raise TypeError("token is not a string")
        except (ValueError, KeyError, TypeError) as e:
            raise MintError("invalid-payload", f"malformed request body: {e}") from e
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as e:
            raise MintError("invalid-payload", f"malformed JWT: {e}") from e
        if str(unverified.get("iss", "")).rstrip("/") != self.issuer:
            raise MintError("invalid-payload", "unknown trusted publishing issuer")
        try:
            key = self.jwks_client().get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=unverified["iss"],
                options={"require": ["iss", "aud", "exp", "iat", "nbf", "jti"]},
            )
        except (jwt.PyJWTError, OSError, RuntimeError) as e:
            raise MintError("invalid-token", f"invalid token: {e}") from e

        publisher = self.find_publisher(claims)

        jti = str(claims["jti"])
        now = time.time()
        with self.lock:
            for k in [k for k, exp in self.used_jti.items() if exp < now]:
                del self.used_jti[k]
            if jti in self.used_jti:
                raise MintError("invalid-reuse-token", "invalid token: already used")
            self.used_jti[jti] = float(claims["exp"])
            tok = "pypi-" + secrets.token_urlsafe(48)
            expires = int(now) + TOKEN_LIFETIME
            self.tokens[tok] = {"publisher": publisher, "claims": claims, "expires": expires}
        return {"success": True, "token": tok, "expires": expires}

    def find_publisher(self, claims: dict[str, Any]) -> dict[str, Any]:
        def nope(reason: str) -> MintError:
            return MintError(
                "invalid-publisher", f"valid token, but no corresponding publisher ({reason})"
            )

        for c in ("repository", "repository_owner", "repository_owner_id", "job_workflow_ref"):
            if not claims.get(c):
                raise nope(f"Missing claim {c!r}")
        if claims.get("event_name") == "pull_request_target":
            raise nope(
                "Publishing from a workflow invoked via 'pull_request_target' is not supported."
            )
        m = _JOB_WORKFLOW_REF.match(str(claims["job_workflow_ref"]))
        if not m:
            raise nope("Publisher with matching claims was not found")
        jwr_repo, workflow, _ref = m.groups()
        repo = str(claims["repository"])
        env = claims.get("environment")
        matches = []
        for p in self.publishers:
            if (
                p["repository"].lower() == repo.lower()
                and jwr_repo.lower() == repo.lower()
                and p["repository_owner"] == claims["repository_owner"]
                and str(p["repository_owner_id"]) == str(claims["repository_owner_id"])
                and p["workflow"] == workflow
            ):
                penv = p.get("environment")
                if penv:
                    if env and str(env).lower() == penv.lower():
                        matches.append((0, p))  # environment-specific wins
                else:
                    matches.append((1, p))
        if not matches:
            raise nope("Publisher with matching claims was not found")
        matches.sort(key=lambda t: t[0])
        return matches[0][1]

    def projects_of(self, publisher: dict[str, Any]) -> set[str]:
        ident = self._identity(publisher)
        return {normalize(p["project"]) for p in self.publishers if self._identity(p) == ident}

    @staticmethod
    def _identity(p: dict[str, Any]) -> tuple:
        return (
            p["repository"].lower(),
            p["repository_owner"],
            str(p["repository_owner_id"]),
            p["workflow"],
            (p.get("environment") or "").lower(),
        )

    def lookup_token(self, header: str | None) -> dict[str, Any] | None:
        if not header or not header.lower().startswith("basic "):
            return None
        try:
            user, _, pw = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if user != "__token__":
            return None
        with self.lock:
            t = self.tokens.get(pw)
            if t is None or t["expires"] < time.time():
                return None
            return t


class UploadError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_multipart(content_type: str, body: bytes) -> list[tuple[str, str | None, bytes]]:
    """(name, filename, value bytes) for every part, in order."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not msg.is_multipart():
        raise UploadError(400, "Invalid request: not multipart/form-data")
    parts = []
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is None:
            continue
        payload = part.get_payload(decode=True) or b""
        parts.append((str(name), part.get_filename(), payload))
    return parts


def field(parts, name: str) -> str | None:
    for n, _fn, v in parts:
        if n == name:
            return v.decode("utf-8", "replace")
    return None


def verify_upload_attestations(state: State, token: dict[str, Any], filename: str,
                               content: bytes, raw: str) -> list[dict[str, Any]]:
    """warehouse's attestation checks, through the judge. Raises UploadError(400)."""
    def bad(reason: str) -> UploadError:
        return UploadError(400, PUBLISH_ERR + reason)

    try:
        items = json.loads(raw)
    except ValueError as e:
        raise bad(f"Malformed attestations: {e}") from e
    if not isinstance(items, list):
        raise bad("Malformed attestations: expected a JSON array")
    if not items:
        raise bad("Malformed attestations: an empty attestation set is not permitted")
    if state.verifier is None:
        raise bad("this front was started without --trusted-root")
    pub = token["publisher"]
    identity = pep740_verify.IssuerGitHubPublisher(
        repository=pub["repository"],
        workflow=pub["workflow"],
        environment=pub.get("environment"),
        issuer=state.issuer,
    )
    with tempfile.TemporaryDirectory(prefix="indexfront-") as td:
        dist_path = Path(td) / filename
        dist_path.write_bytes(content)
        try:
            dist = Distribution.from_file(dist_path)
        except (ValidationError, ValueError) as e:
            raise bad(f"invalid distribution filename: {e}") from e
        paths = []
        for i, item in enumerate(items):
            p = Path(td) / f"{i}.attestation"
            p.write_text(json.dumps(item))
            paths.append(p)
        ok, results, set_errors = pep740_verify.verify_attestations(
            dist, paths, identity, state.verifier
        )
    if not ok:
        reasons = set_errors + [r.error for r in results if r.error]
        raise bad("; ".join(reasons) or "verification failed")
    return items


class Handler(BaseHTTPRequestHandler):
    server_version = "attest-publish-indexfront/1"
    protocol_version = "HTTP/1.1"
    state: State  # set on the class by main()

    # ---- helpers ------------------------------------------------------------

    def log_message(self, fmt: str, *args: Any) -> None:
        sys.stderr.write("indexfront: %s - %s\n" % (self.address_string(), fmt % args))

    def send_body(self, status: int, body: bytes, ctype: str, reason: str | None = None,
                  headers: dict[str, str] | None = None) -> None:
        self.send_response(status, reason)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status: int, obj: Any, ctype: str = "application/json") -> None:
        self.send_body(status, json.dumps(obj).encode(), ctype)

    def send_text(self, status: int, message: str) -> None:
        # warehouse puts the message in the status line and the body.
        reason = " ".join(message.split())[:1000].encode("latin-1", "replace").decode("latin-1")
        self.send_body(status, (message + "\n").encode(), "text/plain; charset=utf-8", reason)

    def read_body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > MAX_BODY:
            raise UploadError(413, "Request too large")
        return self.rfile.read(n)

    def reset_connection(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass

    # ---- routing -------------------------------------------------------------

    def do_GET(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path == "/_/oidc/audience":
            return self.send_json(200, {"audience": self.state.audience})
        if path.startswith("/integrity/"):
            return self.integrity(path)
        if path in ("/simple", "/packages") or path.startswith(("/simple/", "/packages/")):
            return self.proxy()
        if path == "/_/front/uploads":
            with self.state.lock:
                return self.send_json(200, list(self.state.uploads))
        self.send_text(404, "Not Found")

    do_HEAD = do_GET

    def do_POST(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        try:
            body = self.read_body()
        except UploadError as e:
            self.close_connection = True
            return self.send_text(e.status, e.message)
        if path in ("/_/oidc/mint-token", "/_/oidc/github/mint-token"):
            try:
                return self.send_json(200, self.state.mint(body))
            except MintError as e:
                return self.send_json(422, {
                    "message": "Token request failed",
                    "errors": [{"code": e.code, "description": e.description}],
                })
        if path in ("/legacy/", "/legacy"):
            return self.upload(body)
        if path == "/_/front/heal":
            with self.state.lock:
                self.state.fail_after = None
            return self.send_json(200, {"healed": True})
        if path == "/_/front/wrong-provenance":
            try:
                names = json.loads(body or b"[]")
            except ValueError:
                return self.send_text(400, "want a JSON list of filenames")
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                return self.send_text(400, "want a JSON list of filenames")
            with self.state.lock:
                self.state.wrong_provenance = set(names)
            return self.send_json(200, {"wrong_provenance": sorted(names)})
        self.send_text(404, "Not Found")

    # ---- upload --------------------------------------------------------------

    def upload(self, body: bytes) -> None:
        st = self.state
        with st.lock:
            broken = st.fail_after is not None and st.successful_uploads >= st.fail_after
        if broken:
            self.log_message("--fail-after %s reached: resetting the connection", st.fail_after)
            return self.reset_connection()
        try:
            self.send_upload_result(*self.do_upload(body))
        except UploadError as e:
            self.send_text(e.status, e.message)

    def do_upload(self, body: bytes) -> tuple[int, str]:
        st = self.state
        token = st.lookup_token(self.headers.get("Authorization"))
        if token is None:
            raise UploadError(403, "Invalid or non-existent authentication information. "
                                   "See https://pypi.org/help/#invalid-auth for more information.")
        ctype = self.headers.get("Content-Type", "")
        if not ctype.lower().startswith("multipart/form-data"):
            raise UploadError(400, "Invalid request: expected multipart/form-data")
        parts = parse_multipart(ctype, body)
        if field(parts, ":action") != "file_upload":
            raise UploadError(400, f"Unsupported ':action' field: {field(parts, ':action')}")
        name, version = field(parts, "name"), field(parts, "version")
        if not name or not version:
            raise UploadError(400, "Invalid request: 'name' and 'version' are required")
        if normalize(name) not in st.projects_of(token["publisher"]):
            raise UploadError(403, f"The given token isn't valid for project {name!r}")
        content = [(fn, v) for n, fn, v in parts if n == "content"]
        if len(content) != 1 or not content[0][0]:
            raise UploadError(400, "Upload payload does not have a file.")
        filename = content[0][0]
        if "/" in filename or "\\" in filename or filename.startswith("."):
            raise UploadError(400, f"Invalid filename: {filename!r}")
        data = content[0][1]
        sha = field(parts, "sha256_digest")
        if sha:
            if hashlib.sha256(data).hexdigest() != sha.strip().lower():
                raise UploadError(400, "The digest supplied does not match a digest calculated "
                                       "from the uploaded file.")
        raw_att = field(parts, "attestations")
        attestations = None
        if raw_att is not None:
            attestations = verify_upload_attestations(st, token, filename, data, raw_att)

        status, reason, text = self.forward_upload(body)
        if status == 409 or (status == 400 and "already exist" in (reason + text).lower()):
            raise UploadError(400, "File already exists ('%s', with blake2_256 hash). "
                                   "See https://pypi.org/help/#file-name-reuse for more "
                                   "information." % filename)
        if status != 200:
            raise UploadError(status if status >= 400 else 502,
                              f"Upstream (pypiserver) answered {status} {reason}: {text[:500]}")
        pub = token["publisher"]
        with st.lock:
            st.successful_uploads += 1
            rec = {"project": normalize(name), "version": version, "filename": filename,
                   "sha256": sha, "publisher": pub, "attestations": len(attestations or [])}
            st.uploads.append(rec)
            if attestations:
                st.provenance[(normalize(name), version, filename)] = {
                    "publisher": {
                        "kind": "GitHub",
                        "repository": pub["repository"],
                        "workflow": pub["workflow"],
                        "environment": pub.get("environment"),
                        "claims": {},
                    },
                    "attestations": attestations,
                }
        return 200, "OK"

    def send_upload_result(self, status: int, message: str) -> None:
        self.send_text(status, message)

    def upstream_conn(self) -> http.client.HTTPConnection:
        u = self.state.upstream
        return http.client.HTTPConnection(u.hostname, u.port or 80, timeout=120)

    def forward_upload(self, body: bytes) -> tuple[int, str, str]:
        conn = self.upstream_conn()
        try:
            conn.request("POST", (self.state.upstream.path.rstrip("/") or "") + "/", body=body,
                         headers={"Content-Type": self.headers["Content-Type"],
                                  "Authorization": self.state.upstream_auth})
            r = conn.getresponse()
            text = r.read().decode("utf-8", "replace")
            return r.status, r.reason, text
        except OSError as e:
            raise UploadError(502, f"Upstream (pypiserver) unreachable: {e}") from e
        finally:
            conn.close()

    # ---- integrity / proxy ----------------------------------------------------

    def integrity(self, path: str) -> None:
        parts = [urllib.parse.unquote(p) for p in path.split("/")[2:]]
        if len(parts) != 4 or parts[3] != "provenance":
            return self.send_text(404, "Not Found")
        project, version, filename = parts[:3]
        with self.state.lock:
            key = (normalize(project), version, filename)
            rec = self.state.provenance.get(key)
            if rec is not None and filename in self.state.wrong_provenance:
                # Another file's provenance of the same release: valid
                # signatures, statements about another file.
                others = [v for k, v in sorted(self.state.provenance.items())
                          if k[:2] == key[:2] and k != key]
                rec = others[0] if others else None
        if rec is None:
            return self.send_json(404, {"message": "No provenance available for " + filename})
        self.send_json(200, {"version": 1, "attestation_bundles": [rec]},
                       "application/vnd.pypi.integrity.v1+json")

    def proxy(self) -> None:
        u = self.state.upstream
        conn = self.upstream_conn()
        try:
            conn.request(self.command, self.path,
                         headers={"Accept": self.headers.get("Accept", "*/*")})
            r = conn.getresponse()
            data = r.read()
        except OSError as e:
            return self.send_text(502, f"Upstream (pypiserver) unreachable: {e}")
        finally:
            conn.close()
        extra = {}
        loc = r.getheader("Location")
        if loc:
            s = urllib.parse.urlsplit(loc)
            if s.netloc == u.netloc or not s.netloc:
                loc = urllib.parse.urlunsplit(("", "", s.path, s.query, s.fragment))
            extra["Location"] = loc
        self.send_body(r.status, data, r.getheader("Content-Type") or "application/octet-stream",
                       r.reason, extra)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--listen", required=True, help="127.0.0.1:PORT (loopback only)")
    ap.add_argument("--upstream", required=True, help="pypiserver URL")
    ap.add_argument("--upstream-auth", required=True, help="user:pass for pypiserver")
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--trusted-root", help="Sigstore trusted_root.json (attestations)")
    ap.add_argument("--publishers", required=True, help="publishers.json")
    ap.add_argument("--audience", default="pypi")
    ap.add_argument("--fail-after", type=int, default=None)
    args = ap.parse_args(argv)

    host, _, port = args.listen.rpartition(":")
    if host not in ("127.0.0.1", "localhost", "::1", "[::1]"):
        ap.error("--listen must be a loopback address")
    Handler.state = State(args)
    srv = ThreadingHTTPServer((host.strip("[]"), int(port)), Handler)
    srv.daemon_threads = True
    print(f"indexfront: listening on http://{host}:{srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
