#!/usr/bin/env python3
"""A local PyPI trusted-publishing front, in front of a real pypiserver (test code).

Usage (with the project venv, /work/main/.cache/venv)::

    python test/indexfront/front.py --listen 127.0.0.1:PORT \\
        --upstream http://127.0.0.1:UPORT --upstream-auth user:pass \\
        --issuer http://127.0.0.1:8090 --trusted-root trusted_root.json \\
        --publishers publishers.json [--audience pypi] [--fail-after N] \\
        [--gitlab-issuer URL] [--disallow-oidc github|gitlab ...]

``publishers.json`` is a list of GitHub and GitLab publishers, each for one project::

    {"project": "attest-publish-sample", "kind": "github",
     "repository": "octo-org/octo-repo", "repository_owner": "octo-org",
     "repository_owner_id": "7890", "workflow": "release.yml", "environment": null}
    {"project": "attest-publish-sample", "kind": "gitlab",
     "project_path": "octo-org/octo-repo", "workflow_filepath": ".gitlab-ci.yml",
     "environment": null, "issuer": "https://gitlab.com"}

Either may say ``"pending": true``: a pending publisher (PyPI's account-level one for a
project that does not exist yet); a token it matches is refused with
``invalid-pending-publisher`` once the project exists, and otherwise turns it into the
project's publisher.

Issuers. Tokens of ``--issuer`` are GitHub Actions tokens (its stand-in for
https://token.actions.githubusercontent.com). Tokens of ``--gitlab-issuer`` (default
``<issuer>/gitlab``, test/oidcissuer's GitLab sub-issuer) are GitLab CI tokens, standing
in for https://gitlab.com: a GitLab publisher's ``issuer`` is https://gitlab.com (the
default), and the local Fulcio writes certificates as for gitlab.com. Another https
``issuer`` is a self-managed instance (warehouse: an organisation's custom issuer); its
tokens are verified against its own discovery document, and, as on PyPI, attestations
from it never verify (pypi-attestations pins gitlab.com).

GitLab publishers follow ``warehouse/oidc/models/gitlab.py`` (/work/shared/docs/gitlab.md
§3): the JWT must be RS256 with iss, iat, exp and aud, a single audience, nbf checked when
present (30 s leeway), else ``invalid-token`` "malformed or invalid token"; the claims
``sub``, ``project_path``, ``ci_config_ref_uri``, ``jti``, ``ref_path`` and ``sha`` must be
present ("Missing claim '<name>'"); the publisher is looked up by namespace and project
(without regard to case), the pipeline file path taken from ``ci_config_ref_uri``
(exactly) and the issuer, preferring one with the token's ``environment`` over one
without ("Publisher with matching claims was not found"); then ``sub`` must start with
``project_path:<namespace>/<project>`` (any case), ``project_path`` must equal it (any
case), ``ci_config_ref_uri`` must be exactly ``<host>/<namespace>/<project>//<file>@``
followed by ``ref_path`` or ``sha`` ("The ci_config_ref_uri claim does not match,
expecting one of [...], got '...'"), the ``jti`` unused, and an environment publisher's
``environment`` equal to the token's (exactly). Uploads' attestations are verified with
pypi-attestations' ``GitLabPublisher`` (only its issuer is the local one), and the
Integrity API serves ``{"kind": "GitLab", "repository", "workflow_filepath",
"environment"}`` as the publisher.

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
import pypi_attestations._impl as _pa_impl  # noqa: E402
from pypi_attestations import Distribution, GitLabPublisher  # noqa: E402

TOKEN_LIFETIME = 900  # warehouse: macaroon valid 15 minutes
JWT_LEEWAY = 30  # warehouse/oidc/services.py: leeway of the GitLab (and every) JWT check
PUBLISH_ERR = "Invalid attestations supplied during upload: "
MAX_BODY = 200 * 1024 * 1024
GITLAB_COM = "https://gitlab.com"  # warehouse's GitLab issuer; the local /gitlab issuer stands in


def normalize(name: str) -> str:
    """PEP 503 name normalization."""
    return re.sub(r"[-_.]+", "-", name).lower()


class MintError(Exception):
    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def no_publisher(reason: str) -> MintError:
    """warehouse's invalid-publisher refusal."""
    return MintError("invalid-publisher", f"valid token, but no corresponding publisher ({reason})")


_JOB_WORKFLOW_REF = re.compile(r"^([^/]+/[^/]+)/\.github/workflows/([^/@]+)@(.+)$")

# The top-level pipeline file inside a GitLab ci_config_ref_uri claim
# ("<host>/<namespace>/<project>//<path/to/file>.yml@<ref>"), located as warehouse
# locates it: right after a "//", as long as possible, a non-empty file name with a
# .yml or .yaml suffix, right before an "@".
_CI_CONFIG_FILEPATH = re.compile(r"(?<=//)(.*[^/]\.(?:yml|yaml))(?=@)")

# What warehouse's GitLab publisher form accepts (warehouse/oidc/forms/gitlab.py).
_GL_NAMESPACE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9\-_./+]*[a-zA-Z0-9]")
_GL_PROJECT = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.\-]*[a-zA-Z0-9]")
_GL_ENVIRONMENT = re.compile(r"[a-zA-Z0-9\-_/${} ]+")
_GL_TWO_SPECIALS = re.compile(r"[._-]{2}")

# The claims a GitLab token must carry (warehouse: the required verifiable claims,
# then the required unverifiable ones), in the order they are reported.
_GITLAB_REQUIRED_CLAIMS = ("sub", "project_path", "ci_config_ref_uri", "jti", "ref_path", "sha")


def gitlab_publisher(p: dict[str, Any]) -> dict[str, Any]:
    """Check a "kind": "gitlab" entry as warehouse's form would, and complete it.

    Adds "namespace" and "gitlab_project" (``project_path`` split at its last "/"),
    and normalises "environment" ("" for none) and "issuer" (default gitlab.com).
    """
    path = p.get("project_path")
    if not isinstance(path, str) or "/" not in path:
        raise SystemExit(f'GitLab publisher: want "project_path": "<namespace>/<project>": {p}')
    namespace, project = path.rsplit("/", 1)
    for what, value, pattern in (("namespace", namespace, _GL_NAMESPACE),
                                 ("project", project, _GL_PROJECT)):
        if (not pattern.fullmatch(value) or _GL_TWO_SPECIALS.search(value)
                or value.lower().endswith((".git", ".atom"))):
            raise SystemExit(f"GitLab publisher: invalid {what} {value!r}: {p}")
    wf = p.get("workflow_filepath")
    wf = wf.strip() if isinstance(wf, str) else ""
    if not wf.endswith((".yml", ".yaml")) or wf.startswith("/") or wf.endswith("/"):
        raise SystemExit("GitLab publisher: \"workflow_filepath\" must end with .yml or .yaml "
                         f"and not start or end with /: {p}")
    env = p.get("environment") or ""
    if env.isspace():
        env = ""
    if env and not _GL_ENVIRONMENT.fullmatch(env):
        raise SystemExit(f"GitLab publisher: invalid environment {env!r}: {p}")
    issuer = (p.get("issuer") or GITLAB_COM).rstrip("/")
    if not issuer.startswith("https://"):
        raise SystemExit(f"GitLab publisher: \"issuer\" must be an https URL (default {GITLAB_COM}; "
                         f"the local GitLab issuer stands in for it): {p}")
    return {**p, "kind": "gitlab", "namespace": namespace, "gitlab_project": project,
            "workflow_filepath": wf, "environment": env, "issuer": issuer,
            "pending": bool(p.get("pending"))}


class LocalGitLabTrustedPublisherPolicy(_pa_impl._GitLabTrustedPublisherPolicy):
    """pypi-attestations' GitLab Trusted Publisher policy, issued by the local stand-in.

    The library pins the issuer (OIDCIssuerV2) to https://gitlab.com; only that one
    child of its baseline AllOf is replaced by the local GitLab issuer. The Source
    Repository URI (https://gitlab.com/<namespace>/<project>, which the local Fulcio
    writes as for gitlab.com) and the Build Config URI ==
    ``https://gitlab.com/<repo>//<workflow_filepath>@<Source Repository Digest or
    Ref>`` checks are the library's own code.
    """

    def __init__(self, repository: str, workflow_filepath: str, issuer: str) -> None:
        super().__init__(repository, workflow_filepath)
        self._subpolicy = pep740_verify._swap_issuer(self._subpolicy, issuer)


class LocalGitLabPublisher(GitLabPublisher):
    """A ``GitLabPublisher`` whose certificates come from the local GitLab issuer.

    Still the library's GitLabPublisher (kind "GitLab"): ``Attestation.verify`` takes
    its publisher branch and calls ``_as_policy()`` as for PyPI's publishers.
    """

    issuer: str = GITLAB_COM

    def _as_policy(self) -> Any:
        return LocalGitLabTrustedPublisherPolicy(self.repository, self.workflow_filepath,
                                                 self.issuer)


class State:
    """Everything the front remembers (in memory)."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.audience: str = args.audience
        self.issuer: str = args.issuer.rstrip("/")
        # The local issuer's GitLab sub-issuer stands in for https://gitlab.com.
        self.gitlab_issuer: str = (getattr(args, "gitlab_issuer", None)
                                   or self.issuer + "/gitlab").rstrip("/")
        self.disallowed: set[str] = set(getattr(args, "disallow_oidc", None) or [])
        self.upstream = urllib.parse.urlsplit(args.upstream)
        self.upstream_auth = "Basic " + base64.b64encode(args.upstream_auth.encode()).decode()
        self.publishers: list[dict[str, Any]] = [
            self.load_publisher(p) for p in json.loads(Path(args.publishers).read_text())
        ]
        # Self-managed instances: warehouse knows them as organisations' custom issuers.
        self.custom_gitlab_issuers = {p["issuer"] for p in self.publishers
                                      if p["kind"] == "gitlab" and p["issuer"] != GITLAB_COM}
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
        self._jwks: dict[str, jwt.PyJWKClient] = {}

    def load_publisher(self, p: dict[str, Any]) -> dict[str, Any]:
        kind = str(p.get("kind", "github")).lower()
        if kind == "github":
            return {**p, "kind": "github", "pending": bool(p.get("pending"))}
        if kind == "gitlab":
            pub = gitlab_publisher(p)
            if pub["issuer"] in (self.issuer, self.gitlab_issuer):
                raise SystemExit(f"GitLab publisher: give \"issuer\": \"{GITLAB_COM}\" (or none); "
                                 f"the local GitLab issuer stands in for it: {p}")
            return pub
        raise SystemExit(f"only GitHub and GitLab publishers are supported: {p}")

    # ---- OIDC -------------------------------------------------------------

    def service_for(self, iss: str) -> tuple[str, str] | None:
        """(warehouse's service name, the issuer URL publishers are registered with)."""
        if iss == self.issuer:
            return "github", iss
        if iss == self.gitlab_issuer:
            return "gitlab", GITLAB_COM
        if iss in self.custom_gitlab_issuers:
            return "gitlab", iss
        return None

    def jwks_client(self, iss: str) -> jwt.PyJWKClient:
        with self.lock:
            if iss not in self._jwks:
                url = iss + "/.well-known/openid-configuration"
                with urllib.request.urlopen(url, timeout=10) as r:
                    disc = json.load(r)
                if disc.get("issuer", "").rstrip("/") != iss:
                    raise RuntimeError(f"discovery issuer mismatch: {disc.get('issuer')}")
                self._jwks[iss] = jwt.PyJWKClient(disc["jwks_uri"], cache_keys=True, lifespan=60)
            return self._jwks[iss]

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
            iss = unverified["iss"]
        except (jwt.PyJWTError, KeyError, TypeError) as e:
            raise MintError("invalid-payload", "malformed JWT") from e
        service = self.service_for(str(iss))
        if service is None:
            raise MintError("invalid-payload", "unknown trusted publishing issuer")
        name, registered_iss = service
        if name in self.disallowed:
            raise MintError("not-enabled", f"{name} trusted publishing functionality not enabled")
        if name == "github":
            claims = self.verify_github_token(token, str(iss))
        else:
            claims = self.verify_gitlab_token(token, str(iss))

        publisher = self.find_publisher(name, registered_iss, claims)

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

    def verify_github_token(self, token: str, iss: str) -> dict[str, Any]:
        try:
            key = self.jwks_client(iss).get_signing_key_from_jwt(token)
            return jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=iss,
                options={"require": ["iss", "aud", "exp", "iat", "nbf", "jti"]},
            )
        except (jwt.PyJWTError, OSError, RuntimeError) as e:
            raise MintError("invalid-token", f"invalid token: {e}") from e

    def verify_gitlab_token(self, token: str, iss: str) -> dict[str, Any]:
        """warehouse's JWT check: RS256, iss/iat/exp/aud present, nbf checked when
        present, exactly one audience, 30 s leeway; any failure is the same refusal."""
        try:
            key = self.jwks_client(iss).get_signing_key_from_jwt(token)
            return jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=iss,
                leeway=JWT_LEEWAY,
                options={"require": ["iss", "iat", "exp", "aud"], "verify_signature": True,
                         "verify_iss": True, "verify_iat": True, "verify_exp": True,
                         "verify_aud": True, "verify_nbf": True, "strict_aud": True},
            )
        except (jwt.PyJWTError, OSError, RuntimeError) as e:
            sys.stderr.write(f"indexfront: GitLab token refused: {e}\n")
            raise MintError("invalid-token", "malformed or invalid token") from e

    def find_publisher(self, service: str, iss: str, claims: dict[str, Any]) -> dict[str, Any]:
        find = self.find_github if service == "github" else self.find_gitlab
        # warehouse looks for a pending publisher first (a refusal there is ignored):
        # one for an existing project is refused; otherwise it becomes a publisher
        # of the new project (here: the project appears with its first upload).
        try:
            pending = find(claims, iss, pending=True)
        except MintError:
            pending = None
        if pending is not None:
            if self.project_exists(pending["project"]):
                raise MintError("invalid-pending-publisher", "valid token, but project already exists")
            with self.lock:
                pending["pending"] = False
        return find(claims, iss, pending=False)

    def project_exists(self, project: str) -> bool:
        conn = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port or 80, timeout=30)
        try:
            conn.request("GET", f"/simple/{normalize(project)}/")
            r = conn.getresponse()
            r.read()
            return r.status == 200
        finally:
            conn.close()

    def jti_used(self, jti: str) -> bool:
        with self.lock:
            exp = self.used_jti.get(jti)
            return exp is not None and exp >= time.time()

    def find_github(self, claims: dict[str, Any], _iss: str, pending: bool) -> dict[str, Any]:
        for c in ("repository", "repository_owner", "repository_owner_id", "job_workflow_ref"):
            if not claims.get(c):
                raise no_publisher(f"Missing claim {c!r}")
        if claims.get("event_name") == "pull_request_target":
            raise no_publisher(
                "Publishing from a workflow invoked via 'pull_request_target' is not supported."
            )
        m = _JOB_WORKFLOW_REF.match(str(claims["job_workflow_ref"]))
        if not m:
            raise no_publisher("Publisher with matching claims was not found")
        jwr_repo, workflow, _ref = m.groups()
        repo = str(claims["repository"])
        env = claims.get("environment")
        matches = []
        for p in self.publishers:
            if p["kind"] != "github" or p["pending"] != pending:
                continue
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
            raise no_publisher("Publisher with matching claims was not found")
        matches.sort(key=lambda t: t[0])
        return matches[0][1]

    def find_gitlab(self, claims: dict[str, Any], iss: str, pending: bool) -> dict[str, Any]:
        """warehouse's GitLab publisher: claims present, lookup, then each check."""
        for c in _GITLAB_REQUIRED_CLAIMS:
            if claims.get(c) is None:
                raise no_publisher(f"Missing claim {c!r}")
        project_path = str(claims["project_path"])
        ci_config_ref_uri = str(claims["ci_config_ref_uri"])
        env = claims.get("environment")

        # Lookup: namespace and project without regard to case, the pipeline file
        # path and the issuer exactly; an environment-specific publisher first.
        namespace, _, project = project_path.rpartition("/")
        m = _CI_CONFIG_FILEPATH.search(ci_config_ref_uri)
        if not m:
            raise no_publisher("Could not extract workflow filename from OIDC claims")
        workflow_filepath = m.group(1)
        found = [p for p in self.publishers
                 if p["kind"] == "gitlab" and p["pending"] == pending
                 and p["namespace"].lower() == namespace.lower()
                 and p["gitlab_project"].lower() == project.lower()
                 and p["workflow_filepath"] == workflow_filepath
                 and p["issuer"] == iss]
        pub = next((p for p in found if env and p["environment"] == env), None)
        if pub is None:
            pub = next((p for p in found if p["environment"] == ""), None)
        if pub is None:
            raise no_publisher("Publisher with matching claims was not found")
        pub_path = f"{pub['namespace']}/{pub['gitlab_project']}"

        # sub: only its first two ":"-separated parts, without regard to case.
        parts = str(claims["sub"]).split(":")
        if (len(parts) < 2 or not parts[0] or not parts[1]
                or f"{parts[0]}:{parts[1]}".lower() != f"project_path:{pub_path}".lower()):
            raise no_publisher("Check failed for required claim 'sub'")
        if not project_path or project_path.lower() != pub_path.lower():
            raise no_publisher("Check failed for required claim 'project_path'")
        # ci_config_ref_uri: exactly (case included) the publisher's project and
        # pipeline file on its instance, at the token's ref_path or sha.
        if not ci_config_ref_uri:
            raise no_publisher("The ci_config_ref_uri claim is empty")
        ref_path, sha = claims.get("ref_path"), claims.get("sha")
        if not (ref_path and sha):
            raise no_publisher("The ref_path and sha claims are empty")
        host = pub["issuer"].removeprefix("https://")
        truth = f"{host}/{pub_path}//{pub['workflow_filepath']}"
        expected = sorted({f"{truth}@{r}" for r in (ref_path, sha)})
        if ci_config_ref_uri not in expected:
            raise no_publisher("The ci_config_ref_uri claim does not match, expecting one of "
                               f"{expected!r}, got {ci_config_ref_uri!r}")
        if self.jti_used(str(claims["jti"])):
            raise MintError("invalid-reuse-token", "invalid token: already used")
        # environment: exact, when the publisher names one.
        if pub["environment"] and (not env or env != pub["environment"]):
            raise no_publisher("Check failed for optional claim 'environment'")
        return pub

    def projects_of(self, publisher: dict[str, Any]) -> set[str]:
        ident = self._identity(publisher)
        return {normalize(p["project"]) for p in self.publishers
                if not p["pending"] and self._identity(p) == ident}

    @staticmethod
    def _identity(p: dict[str, Any]) -> tuple:
        if p["kind"] == "gitlab":
            # warehouse's unique constraint (exact), plus the instance.
            return ("gitlab", p["namespace"], p["gitlab_project"], p["workflow_filepath"],
                    p["environment"], p["issuer"])
        return (
            "github",
            p["repository"].lower(),
            p["repository_owner"],
            str(p["repository_owner_id"]),
            p["workflow"],
            (p.get("environment") or "").lower(),
        )

    def attestation_identity(self, pub: dict[str, Any]) -> Any:
        """The pypi-attestations publisher PyPI verifies uploads against."""
        if pub["kind"] == "gitlab":
            repository = f"{pub['namespace']}/{pub['gitlab_project']}"
            if pub["issuer"] == GITLAB_COM:
                return LocalGitLabPublisher(repository=repository,
                                            workflow_filepath=pub["workflow_filepath"],
                                            environment=pub["environment"] or None,
                                            issuer=self.gitlab_issuer)
            # Self-managed: the library pins gitlab.com, so (as on PyPI) nothing verifies.
            return GitLabPublisher(repository=repository, workflow_filepath=pub["workflow_filepath"],
                                   environment=pub["environment"] or None)
        return pep740_verify.IssuerGitHubPublisher(
            repository=pub["repository"],
            workflow=pub["workflow"],
            environment=pub.get("environment"),
            issuer=self.issuer,
        )

    def provenance_publisher(self, pub: dict[str, Any]) -> dict[str, Any]:
        """The Integrity API's "publisher" object for an accepted upload."""
        if pub["kind"] == "gitlab":
            # As PyPI serves it: its attestation identity, dumped by pydantic.
            return GitLabPublisher(repository=f"{pub['namespace']}/{pub['gitlab_project']}",
                                   workflow_filepath=pub["workflow_filepath"],
                                   environment=pub["environment"] or None).model_dump(mode="json")
        return {
            "kind": "GitHub",
            "repository": pub["repository"],
            "workflow": pub["workflow"],
            "environment": pub.get("environment"),
            "claims": {},
        }

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
    identity = state.attestation_identity(token["publisher"])
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
                    "publisher": st.provenance_publisher(pub),
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
    ap.add_argument("--gitlab-issuer",
                    help="the GitLab issuer standing in for https://gitlab.com "
                         "(default: --issuer + /gitlab, the local issuer's GitLab sub-issuer)")
    ap.add_argument("--disallow-oidc", action="append", choices=["github", "gitlab"],
                    help="answer mint-token for this service with not-enabled (an admin flag)")
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
