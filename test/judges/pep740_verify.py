#!/usr/bin/env python3
"""PyPI judge: verify PEP 740 attestations for one distribution the way PyPI does.

Usage::

    python pep740_verify.py --trusted-root trusted_root.json \\
        --issuer http://127.0.0.1:8090 [--kind github|gitlab] \\
        --repository octo-org/octo-repo --workflow release.yml \\
        [--environment NAME] [--server-url https://github.com] \\
        DIST ATTESTATION [ATTESTATION ...]

``--kind gitlab`` judges with PyPI's GitLab Trusted Publisher: ``--repository`` is
the project path (namespace/project) and ``--workflow`` the CI config file path
(e.g. ``.gitlab-ci.yml``).

Exit status 0 only if every attestation verifies for DIST and the set obeys
PyPI's upload rules; 1 if any check fails; 2 on usage errors.

What runs is pypi-attestations' own code, as warehouse
(``warehouse/attestations/services.py``) calls it at upload time:

* each file is loaded with ``pypi_attestations.Attestation.model_validate_json``;
* the distribution is ``pypi_attestations.Distribution.from_file(DIST)``;
* each attestation goes through the library's real ``Attestation.verify(publisher,
  dist)``: conversion to a Sigstore bundle, sigstore-python's ``Verifier.verify_dsse``
  (certificate chain at the log's integrated time, SCT, Rekor inclusion proof +
  checkpoint + SET, DSSE signature, tlog body consistency), the publisher policy,
  exactly one subject, subject filename == DIST filename (parsed), sha256 == DIST's,
  known predicate type;
* then warehouse's set rules: not empty, at most one attestation per supported
  predicate type (so at most 2), no repeated predicate type.

Three things differ from PyPI, the first two only so the judge can run against a
private, offline Sigstore instance, the third for a format newer than the library:

1. Trust root. pypi-attestations 0.0.30's ``Attestation.verify(identity, dist, *,
   staging=False, offline=False)`` takes no verifier or trust root: it always calls
   ``Verifier.production()`` / ``Verifier.staging()`` (the public-good TUF roots).
   While ``verify`` runs, the name ``Verifier`` inside ``pypi_attestations._impl`` is
   swapped for a subclass of ``sigstore.verify.Verifier`` whose ``production()`` /
   ``staging()`` return ``Verifier(trusted_root=TrustedRoot.from_file(...))``. Nothing
   else in the library is touched, and the judge fails loudly if the library did not
   go through the injected constructor (so it can never silently fall back to the
   public-good root or reach for TUF over the network). If a later pypi-attestations
   grows a ``verifier=`` keyword, that is used instead.
2. Issuer. ``GitHubPublisher`` pins the issuer to
   ``https://token.actions.githubusercontent.com``. ``IssuerGitHubPublisher`` below
   subclasses it and reuses the library's ``_GitHubTrustedPublisherPolicy`` unchanged
   except that, in its baseline ``AllOf`` sub-policy, the one ``OIDCIssuerV2`` child is
   replaced by ``OIDCIssuerV2(--issuer)``. The Source Repository URI check and the
   Build Config URI == ``https://github.com/<repo>/.github/workflows/<workflow>@<ref or
   sha>`` check are the library's own code.
   ``GitLabPublisher`` likewise pins ``https://gitlab.com``; ``IssuerGitLabPublisher``
   reuses the library's ``_GitLabTrustedPublisherPolicy`` with the same one swap. Its
   Source Repository URI == ``https://gitlab.com/<project>`` check and its Build Config
   URI == ``https://gitlab.com/<project>//<CI config path>@<sha or ref>`` check (both
   the Source Repository Digest and Ref must exist) are the library's own code.

3. Timestamps. An attestation logged in Rekor v2 carries RFC 3161 timestamps in
   ``verification_material.timestamps`` (base64 DER tokens, the bundle's
   ``rfc3161Timestamps[].signedTimestamp``). pypi-attestations 0.0.30 predates that
   field; while ``verify`` runs, the sigstore-python call its ``to_bundle`` makes to
   build the bundle gets those timestamps through its own ``signed_timestamp``
   parameter (``_bundle_with_timestamps``).
   A library release that models the field is used unchanged.

``--environment`` is recorded on the publisher (as PyPI does) but, exactly like PyPI,
it is *not* checked against the certificate: pypi-attestations' GitHub and GitLab
policies ignore it (PyPI checks the environment on the OIDC token when it mints the
upload token).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import inspect
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pypi_attestations
import pypi_attestations._impl as _pa_impl
import sigstore.errors
from cryptography import x509
from pydantic import ValidationError
from pypi_attestations import (
    Attestation,
    AttestationError,
    AttestationType,
    Distribution,
    GitHubPublisher,
    GitLabPublisher,
)
from rfc3161_client import decode_timestamp_response
from sigstore.models import Bundle, TrustedRoot
from sigstore.verify import Verifier, policy

DEFAULT_SERVER_URL = "https://github.com"

# warehouse/attestations/services.py: SUPPORTED_ATTESTATION_TYPES
SUPPORTED_ATTESTATION_TYPES = frozenset(
    {AttestationType.PYPI_PUBLISH_V1, AttestationType.SLSA_PROVENANCE_V1}
)


# --------------------------------------------------------------------------
# Identity policy: the library's GitHub Trusted Publisher policy, other issuer
# --------------------------------------------------------------------------


def _swap_issuer(subpolicy: Any, issuer: str) -> policy.AllOf:
    """Return a copy of the library's baseline AllOf with only the issuer replaced."""
    children = getattr(subpolicy, "_children", None)
    if not isinstance(subpolicy, policy.AllOf) or children is None:
        raise RuntimeError(
            "pypi-attestations' publisher policy no longer has an AllOf baseline "
            f"sub-policy (got {type(subpolicy).__name__}); update pep740_verify.py"
        )
    swapped = [
        policy.OIDCIssuerV2(issuer) if isinstance(c, policy.OIDCIssuerV2) else c
        for c in children
    ]
    n = sum(isinstance(c, policy.OIDCIssuerV2) for c in children)
    if n != 1:
        raise RuntimeError(
            f"expected exactly one OIDCIssuerV2 in the library's policy, found {n}"
        )
    return policy.AllOf(swapped)


class IssuerGitHubTrustedPublisherPolicy(_pa_impl._GitHubTrustedPublisherPolicy):
    """pypi-attestations' GitHub Trusted Publisher policy with a different issuer.

    Everything (Source Repository URI, Build Config URI against Source Repository
    Ref/Digest) is the library's code; only the issuer child policy is swapped.
    """

    def __init__(self, repository: str, workflow: str, issuer: str) -> None:
        super().__init__(repository, workflow)
        self._subpolicy = _swap_issuer(self._subpolicy, issuer)


class ServerURLGitHubTrustedPublisherPolicy:
    """Only for a non-default ``--server-url`` (e.g. GitHub Enterprise Server).

    pypi-attestations hard-codes ``https://github.com`` into both of its URI checks, so
    this small policy is written here from the library's documented facts (not copied):
    issuer extension (1.3.6.1.4.1.57264.1.8) == issuer; Source Repository URI (.12) ==
    ``<server>/<repo>``; and Build Config URI (.18) must equal
    ``<server>/<repo>/.github/workflows/<workflow>@<suffix>`` for the Source Repository
    Digest (.13) or Source Repository Ref (.14), at least one of which must exist.
    PyPI itself only knows github.com; with the default server URL this class is unused.
    """

    def __init__(self, repository: str, workflow: str, issuer: str, server_url: str):
        self._server = server_url.rstrip("/")
        self._repository = repository
        self._workflow = workflow
        self._baseline = policy.AllOf(
            [
                policy.OIDCIssuerV2(issuer),
                policy.OIDCSourceRepositoryURI(f"{self._server}/{repository}"),
            ]
        )

    @staticmethod
    def _ext(cert: x509.Certificate, dotted: str) -> str | None:
        try:
            ext = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(dotted))
        except x509.ExtensionNotFound:
            return None
        return _pa_impl._der_decode_utf8string(ext.value.public_bytes())

    def verify(self, cert: x509.Certificate) -> None:
        self._baseline.verify(cert)
        build_config = self._ext(cert, "1.3.6.1.4.1.57264.1.18")
        candidates = [
            v
            for v in (
                self._ext(cert, "1.3.6.1.4.1.57264.1.13"),
                self._ext(cert, "1.3.6.1.4.1.57264.1.14"),
            )
            if v is not None
        ]
        if not candidates:
            raise sigstore.errors.VerificationError(
                "Certificate must contain either Source Repository Digest or Source Repository Ref"
            )
        prefix = f"{self._server}/{self._repository}/.github/workflows/{self._workflow}@"
        if build_config not in {prefix + c for c in candidates}:
            raise sigstore.errors.VerificationError(
                f"Certificate's Build Config URI ({build_config}) does not match expected "
                f"Trusted Publisher ({self._workflow} @ {self._repository})"
            )


class IssuerGitHubPublisher(GitHubPublisher):
    """A ``GitHubPublisher`` whose certificates come from another OIDC issuer.

    It is still a ``GitHubPublisher`` (kind "GitHub"), so ``Attestation.verify`` takes
    its publisher branch and calls ``_as_policy()`` exactly as for PyPI's publishers.
    """

    issuer: str = "https://token.actions.githubusercontent.com"
    server_url: str = DEFAULT_SERVER_URL

    def _as_policy(self) -> Any:
        if self.server_url.rstrip("/") == DEFAULT_SERVER_URL:
            return IssuerGitHubTrustedPublisherPolicy(
                self.repository, self.workflow, self.issuer
            )
        return ServerURLGitHubTrustedPublisherPolicy(
            self.repository, self.workflow, self.issuer, self.server_url
        )


class IssuerGitLabTrustedPublisherPolicy(_pa_impl._GitLabTrustedPublisherPolicy):
    """pypi-attestations' GitLab Trusted Publisher policy with a different issuer.

    Everything (Source Repository URI, Build Config URI against Source Repository
    Digest/Ref) is the library's code; only the issuer child policy is swapped.
    """

    def __init__(self, repository: str, workflow_filepath: str, issuer: str) -> None:
        super().__init__(repository, workflow_filepath)
        self._subpolicy = _swap_issuer(self._subpolicy, issuer)


class IssuerGitLabPublisher(GitLabPublisher):
    """A ``GitLabPublisher`` whose certificates come from another OIDC issuer.

    It is still a ``GitLabPublisher`` (kind "GitLab"), so ``Attestation.verify`` takes
    its publisher branch and calls ``_as_policy()`` exactly as for PyPI's publishers.
    """

    issuer: str = "https://gitlab.com"

    def _as_policy(self) -> Any:
        return IssuerGitLabTrustedPublisherPolicy(
            self.repository, self.workflow_filepath, self.issuer
        )


# --------------------------------------------------------------------------
# Trusted root injection
# --------------------------------------------------------------------------


def load_verifier(trusted_root: str | Path) -> Verifier:
    """A sigstore-python Verifier for a local trusted_root.json (no TUF, no network)."""
    return Verifier(trusted_root=TrustedRoot.from_file(str(trusted_root)))


_VERIFY_TAKES_VERIFIER = "verifier" in inspect.signature(Attestation.verify).parameters


@contextlib.contextmanager
def _library_uses(verifier: Verifier) -> Iterator[list[str]]:
    """While active, pypi-attestations' Verifier.production()/staging() return `verifier`."""
    calls: list[str] = []

    class _InjectedVerifier(Verifier):
        @classmethod
        def production(cls, *, offline: bool = False) -> Verifier:  # type: ignore[override]
            calls.append("production")
            return verifier

        @classmethod
        def staging(cls, *, offline: bool = False) -> Verifier:  # type: ignore[override]
            calls.append("staging")
            return verifier

    original = _pa_impl.Verifier
    _pa_impl.Verifier = _InjectedVerifier
    try:
        yield calls
    finally:
        _pa_impl.Verifier = original


def library_verify(
    attestation: Attestation, identity: Any, dist: Distribution, verifier: Verifier
) -> tuple[str, dict[str, Any] | None]:
    """Call the library's real ``Attestation.verify`` against ``verifier``'s trust root."""
    if _VERIFY_TAKES_VERIFIER:  # future pypi-attestations
        return attestation.verify(identity, dist, verifier=verifier)  # type: ignore[call-arg]
    with _library_uses(verifier) as calls:
        # offline=True: even if the injection were bypassed, never refresh TUF.
        result = attestation.verify(identity, dist, offline=True)
    if not calls:
        raise RuntimeError(
            "pypi-attestations did not build its Verifier through Verifier.production(); "
            "the custom trusted root was not used"
        )
    return result


# --------------------------------------------------------------------------
# RFC 3161 timestamps (attestations logged in Rekor v2)
# --------------------------------------------------------------------------

# pypi-attestations 0.0.30, the newest release on PyPI, has no
# ``verification_material.timestamps``: its models ignore the field and its
# ``to_bundle`` builds a bundle without them, which a Rekor v2 entry (no
# integrated time) cannot verify without. A release that reads them is used
# as it is.
_LIBRARY_READS_TIMESTAMPS = "timestamps" in _pa_impl.VerificationMaterial.model_fields


def _raw_timestamps(raw: bytes) -> list[str]:
    """The attestation's verification_material.timestamps (base64 DER tokens)."""
    try:
        ts = json.loads(raw)["verification_material"].get("timestamps") or []
    except (ValueError, KeyError, AttributeError, TypeError):
        return []
    if not isinstance(ts, list) or not all(isinstance(t, str) for t in ts):
        raise ValueError("verification_material.timestamps is not a list of base64 strings")
    return ts


@contextlib.contextmanager
def _bundle_with_timestamps(timestamps: list[str]) -> Iterator[None]:
    """While active, the bundle the library builds carries these timestamps.

    pypi-attestations' ``to_bundle`` runs unchanged; the sigstore-python call it
    makes, ``Bundle._from_parts(cert, content, log_entry)``, gets the decoded
    tokens through its own ``signed_timestamp`` parameter (a bundle without them
    and without an inclusion promise is invalid). Verification is the library's
    and sigstore-python's.
    """
    if _LIBRARY_READS_TIMESTAMPS or not timestamps:
        yield
        return
    responses = [decode_timestamp_response(base64.b64decode(t, validate=True)) for t in timestamps]
    original = Bundle.__dict__["_from_parts"]  # the classmethod descriptor
    bound = Bundle._from_parts

    def from_parts(cert: Any, content: Any, log_entry: Any, signed_timestamp: Any = None) -> Bundle:
        return bound(cert, content, log_entry, signed_timestamp=list(signed_timestamp or []) + responses)

    Bundle._from_parts = from_parts  # type: ignore[method-assign, assignment]
    try:
        yield
    finally:
        setattr(Bundle, "_from_parts", original)


# --------------------------------------------------------------------------
# One distribution, N attestations
# --------------------------------------------------------------------------


@dataclasses.dataclass
class Result:
    path: str
    ok: bool
    predicate_type: str | None = None
    subject: str | None = None
    error: str | None = None

    def line(self) -> str:
        verdict = "OK" if self.ok else "FAIL"
        s = (
            f"{self.path}: predicateType={self.predicate_type or '?'} "
            f"subject={self.subject or '?'} verdict={verdict}"
        )
        if self.error:
            s += f"\n    error: {self.error}"
        return s


def _peek_statement(raw: bytes) -> tuple[str | None, str | None]:
    """Best-effort predicate type / subject name for the report (never used to decide)."""
    try:
        stmt = json.loads(base64.b64decode(json.loads(raw)["envelope"]["statement"]))
        subjects = stmt.get("subject") or []
        name = subjects[0].get("name") if subjects else None
        return stmt.get("predicateType"), name
    except Exception:  # noqa: BLE001 - purely informational
        return None, None


def verify_attestations(
    dist: Distribution,
    attestation_paths: Sequence[str | Path],
    identity: Any,
    verifier: Verifier,
) -> tuple[bool, list[Result], list[str]]:
    """Verify every attestation for `dist`; return (ok, per-file results, set errors).

    `identity` is whatever ``Attestation.verify`` accepts: a pypi-attestations
    Publisher (e.g. ``IssuerGitHubPublisher``) or a sigstore ``VerificationPolicy``.
    """
    results: list[Result] = []
    set_errors: list[str] = []

    # warehouse: an empty set is rejected, and at most one per supported type.
    if not attestation_paths:
        set_errors.append("Malformed attestations: an empty attestation set is not permitted")
    if len(attestation_paths) > len(SUPPORTED_ATTESTATION_TYPES):
        set_errors.append(
            f"A maximum of {len(SUPPORTED_ATTESTATION_TYPES)} attestations per file are supported"
        )

    seen: set[str] = set()
    for p in attestation_paths:
        raw = Path(p).read_bytes()
        pt, subj = _peek_statement(raw)
        res = Result(path=str(p), ok=False, predicate_type=pt, subject=subj)
        results.append(res)
        try:
            attestation = Attestation.model_validate_json(raw)
        except ValidationError as e:
            res.error = f"Malformed attestation: {e}"
            continue
        try:
            timestamps = _raw_timestamps(raw)
        except ValueError as e:
            res.error = f"Malformed attestation: {e}"
            continue
        try:
            with _bundle_with_timestamps(timestamps):
                predicate_type, _predicate = library_verify(attestation, identity, dist, verifier)
        except pypi_attestations.VerificationError as e:
            res.error = str(e)
            continue
        except AttestationError as e:  # e.g. ConversionError from to_bundle()
            res.error = f"{type(e).__name__}: {e}"
            continue
        except Exception as e:  # noqa: BLE001 - warehouse: "Unknown error while ..."
            res.error = f"Unknown error while trying to verify included attestations: {type(e).__name__}: {e}"
            continue
        res.predicate_type = predicate_type
        if predicate_type not in SUPPORTED_ATTESTATION_TYPES:
            res.error = f"Attestation with unsupported predicate type: {predicate_type}"
            continue
        if predicate_type in seen:
            res.error = (
                "Multiple attestations for the same file with the same predicate type "
                f"({predicate_type}) are not supported"
            )
            continue
        seen.add(predicate_type)
        res.ok = True

    ok = not set_errors and bool(results) and all(r.ok for r in results)
    return ok, results, set_errors


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description="Verify PEP 740 attestations for one distribution exactly as PyPI does "
        "(pypi-attestations), with a custom trusted root and OIDC issuer."
    )
    ap.add_argument("--trusted-root", required=True, help="Sigstore trusted_root.json")
    ap.add_argument("--issuer", required=True, help="expected OIDC issuer of the signing certificate")
    ap.add_argument("--kind", choices=("github", "gitlab"), default="github",
                    help="Trusted Publisher platform (default %(default)s)")
    ap.add_argument("--repository", required=True,
                    help="GitHub owner/repo, or GitLab namespace/project, of the Trusted Publisher")
    ap.add_argument("--workflow", required=True,
                    help="GitHub workflow file name (release.yml), or GitLab CI config path (.gitlab-ci.yml)")
    ap.add_argument("--environment", default=None, help="deployment environment (recorded, not checked: see --help text)")
    ap.add_argument("--server-url", default=DEFAULT_SERVER_URL, help="GitHub server URL (default %(default)s; GitHub only)")
    ap.add_argument("dist", metavar="DIST")
    ap.add_argument("attestations", metavar="ATTESTATION", nargs="+")
    args = ap.parse_args(argv)

    dist_path = Path(args.dist)
    if not dist_path.is_file():
        ap.error(f"not a file: {dist_path}")
    try:
        dist = Distribution.from_file(dist_path)
    except ValidationError as e:
        print(f"{dist_path}: FAIL: not a valid distribution filename: {e}")
        return 1

    publisher: Any
    if args.kind == "gitlab":
        if args.server_url != DEFAULT_SERVER_URL:
            ap.error("--server-url is for GitHub publishers: PyPI's GitLab publisher is gitlab.com's")
        publisher = IssuerGitLabPublisher(
            repository=args.repository,
            workflow_filepath=args.workflow,
            environment=args.environment,
            issuer=args.issuer,
        )
        described = (
            f"GitLab repository={args.repository} workflow_filepath={args.workflow} "
            f"environment={args.environment} issuer={args.issuer}"
        )
    else:
        publisher = IssuerGitHubPublisher(
            repository=args.repository,
            workflow=args.workflow,
            environment=args.environment,
            issuer=args.issuer,
            server_url=args.server_url,
        )
        described = (
            f"GitHub repository={args.repository} workflow={args.workflow} "
            f"environment={args.environment} issuer={args.issuer} server={args.server_url}"
        )
    verifier = load_verifier(args.trusted_root)

    print(
        f"pypi-attestations {pypi_attestations.__version__}: {dist.name} sha256={dist.digest}\n"
        f"publisher: {described}"
    )
    if args.environment:
        print("note: like PyPI, the environment is not checked against the certificate")

    ok, results, set_errors = verify_attestations(dist, args.attestations, publisher, verifier)
    for r in results:
        print(r.line())
    for e in set_errors:
        print(f"FAIL (attestation set): {e}")
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
