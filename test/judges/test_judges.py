"""Self-tests for the judges, on real upstream data, with no Sigstore stack and no network.

Run with the judges' venv:  .cache/venv/bin/python -m pytest -q test/judges

Data: the repository's test vectors, testdata/vectors (a copy of the shared verification vectors).
Every case folder ships its own trusted_root.json; nothing is fetched. A missing vector
directory is a FAILURE, never a skip. Outbound network is blocked for this process and
for every subprocess (a sitecustomize.py put on PYTHONPATH refuses non-loopback
connects and DNS), so "offline" is tested, not assumed.

Coverage of the pep740-* vectors (test_every_pep740_vector_is_covered enforces it):

* GitHub-published cases go through the CLI judge with the policy from expected.json.
* rfc8785-* and spt3g-* were signed with an *email* identity on Sigstore staging, not by
  a Trusted Publisher, so a GitHub publisher policy cannot express them. They are run
  through the same ``verify_attestations`` code path with the policy pypi-attestations'
  own tests use (``sigstore.verify.policy.Identity``), so the digest / filename checks
  under test are still the library's real ones.
* gitlab_oidc_project is a GitLab publisher. It is checked with the library's unchanged
  ``GitLabPublisher`` (fails with wrong.yml, passes with .gitlab-ci.yml), and the GitHub
  CLI judge must reject it. The CLI judge's ``--kind gitlab`` (the library's GitLab
  policy with only the issuer swapped) must judge it as the library does: pass with
  .gitlab-ci.yml and issuer https://gitlab.com, fail with another CI config path,
  another project or another issuer.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

import pep740_verify as J  # noqa: E402
import sigstore_trust_config as TC  # noqa: E402
from pypi_attestations import (  # noqa: E402
    Attestation,
    Distribution,
    GitHubPublisher,
    GitLabPublisher,
)
from sigstore.verify import policy  # noqa: E402

VECTORS = REPO / "testdata" / "vectors"
GH_ISSUER = "https://token.actions.githubusercontent.com"
LOCAL_ISSUER = "http://127.0.0.1:8090"
PUBLISH = "https://docs.pypi.org/attestations/publish/v1"
SLSA = "https://slsa.dev/provenance/v1"
CONFORMANCE_ID = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)

# ---------------------------------------------------------------- no network

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}

_SITECUSTOMIZE = '''
import socket
_connect, _connect_ex, _gai = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo
_LOOP = {"127.0.0.1", "::1", "localhost"}
def _check(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in _LOOP:
        raise OSError("network disabled by test_judges: %r" % (address,))
def connect(self, address):
    _check(self, address); return _connect(self, address)
def connect_ex(self, address):
    _check(self, address); return _connect_ex(self, address)
def getaddrinfo(host, *a, **k):
    if host not in _LOOP and host is not None:
        raise socket.gaierror("network disabled by test_judges: %r" % (host,))
    return _gai(host, *a, **k)
socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
'''


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    real_connect = socket.socket.connect

    def guarded(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in _LOOPBACK:
            raise OSError(f"network disabled by test_judges: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def offline_env(tmp_path_factory) -> dict[str, str]:
    d = tmp_path_factory.mktemp("offline")
    (d / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(d), *filter(None, [env.get("PYTHONPATH")])])
    env["HOME"] = str(tmp_path_factory.mktemp("home"))  # no TUF cache of the user's
    env.pop("XDG_CACHE_HOME", None)
    env.pop("XDG_DATA_HOME", None)
    env["NO_COLOR"] = "1"
    return env


def run(env, *args: str) -> subprocess.CompletedProcess[str]:
    p = subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=300
    )
    print(f"$ python {' '.join(args)}\n-> rc={p.returncode}\n{p.stdout}{p.stderr}")
    return p


def test_network_guard_works_in_subprocesses(offline_env):
    p = run(offline_env, "-c", "import socket; socket.create_connection(('192.0.2.1', 443), 1)")
    assert p.returncode != 0 and "network disabled by test_judges" in p.stderr


# ---------------------------------------------------------------- vectors


def case(name: str) -> Path:
    if not VECTORS.is_dir():
        pytest.fail(
            f"test vectors not found at {VECTORS}: the repository's testdata/vectors is missing "
            "(these self-tests must not silently pass without data)"
        )
    d = VECTORS / name
    assert d.is_dir(), f"missing test vector {d}"
    return d


def expected(name: str) -> dict:
    return json.loads((case(name) / "expected.json").read_text())


def pep740_cli(env, trusted_root, dist, *atts, issuer=GH_ISSUER, repository, workflow, extra=()):
    return run(
        env, str(HERE / "pep740_verify.py"),
        "--trusted-root", str(trusted_root), "--issuer", issuer,
        "--repository", repository, "--workflow", workflow, *extra,
        str(dist), *map(str, atts),
    )


# GitHub-publisher cases: (case, attestation files from other cases to add)
GH_PASS = ["pep740-pypi_attestations-0.0.19-publish", "pep740-pypi_attestation_models-0.0.4a2"]
EMAIL_CASES = {
    "pep740-rfc8785-0.1.2-staging": "pass",
    "pep740-rfc8785-0.1.2-digest-mismatch": "subject does not match distribution digest",
    "pep740-rfc8785-0.1.2-filename-mismatch": "subject does not match distribution name",
    "pep740-spt3g-1.0-wheel-tag-order": "pass",
}
HANDLED = set(GH_PASS) | set(EMAIL_CASES) | {
    "pep740-pypi_attestations-0.0.19-slsa",
    "pep740-gitlab_oidc_project-0.0.3-wrong-workflow",
}


def test_every_pep740_vector_is_covered():
    names = {p.name for p in case(".").iterdir() if p.name.startswith("pep740-")}
    assert names, "no pep740-* vectors found"
    assert names <= HANDLED, f"pep740 vectors not handled by these tests: {sorted(names - HANDLED)}"


@pytest.mark.parametrize("name", GH_PASS)
def test_pep740_github_cases_pass_with_expected_policy(offline_env, name):
    e = expected(name)
    assert e["expected"] == "pass" and e["issuer"] == GH_ISSUER
    pub = e["policy"]["publisher"]
    assert pub["kind"] == "GitHub"
    d = case(name)
    p = pep740_cli(
        offline_env, d / e["trusted_root"], d / e["artifact"], d / e["attestation"],
        repository=pub["repository"], workflow=pub["workflow"],
    )
    assert p.returncode == 0
    assert f"predicateType={PUBLISH}" in p.stdout
    assert f"subject={e['statement']['subject'][0]['name']}" in p.stdout
    assert "verdict=OK" in p.stdout and "RESULT: PASS" in p.stdout


def _v019():
    pub = case("pep740-pypi_attestations-0.0.19-publish")
    slsa = case("pep740-pypi_attestations-0.0.19-slsa")
    return (
        pub / "trusted_root.json",
        pub / "pypi_attestations-0.0.19.tar.gz",
        pub / "pypi_attestations-0.0.19.tar.gz.publish.attestation",
        slsa / "pypi_attestations-0.0.19.tar.gz.slsa.attestation",
    )


def test_pep740_publish_and_slsa_together(offline_env):
    # The slsa case's expected.json only names source_repository; its certificate is
    # the same release.yml@refs/tags/v0.0.19 identity as the publish case, so the
    # publisher policy of the publish case applies to both.
    e = expected("pep740-pypi_attestations-0.0.19-slsa")
    assert e["policy"]["source_repository"] == "https://github.com/trailofbits/pypi-attestations"
    assert e["certificate"]["build_config_uri"].endswith("/.github/workflows/release.yml@refs/tags/v0.0.19")
    root, dist, publish, slsa = _v019()
    p = pep740_cli(offline_env, root, dist, publish, slsa,
                   repository="trailofbits/pypi-attestations", workflow="release.yml")
    assert p.returncode == 0
    assert f"predicateType={SLSA}" in p.stdout and f"predicateType={PUBLISH}" in p.stdout
    assert p.stdout.count("verdict=OK") == 2


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"repository": "trailofbits/other-repo", "workflow": "release.yml"},
         "OIDCSourceRepositoryURI does not match"),
        ({"repository": "trailofbits/pypi-attestations", "workflow": "other.yml"},
         "does not match expected Trusted Publisher (other.yml @ trailofbits/pypi-attestations)"),
        ({"repository": "trailofbits/pypi-attestations", "workflow": "release.yml", "issuer": LOCAL_ISSUER},
         "OIDCIssuerV2 does not match (got https://token.actions.githubusercontent.com, expected http://127.0.0.1:8090)"),
    ],
    ids=["wrong-repository", "wrong-workflow", "wrong-issuer"],
)
def test_pep740_wrong_identity_rejected(offline_env, kw, message):
    root, dist, publish, _ = _v019()
    p = pep740_cli(offline_env, root, dist, publish, **kw)
    assert p.returncode == 1
    assert "verdict=FAIL" in p.stdout and message in p.stdout


def test_pep740_wrong_trusted_root_rejected(offline_env):
    # Proves the injected root is the one used: the staging root cannot verify a
    # production-signed attestation (no silent fallback to the public-good root).
    _, dist, publish, _ = _v019()
    staging_root = case("pep740-rfc8785-0.1.2-staging") / "trusted_root.json"
    p = pep740_cli(offline_env, staging_root, dist, publish,
                   repository="trailofbits/pypi-attestations", workflow="release.yml")
    assert p.returncode == 1 and "verdict=FAIL" in p.stdout


def test_pep740_duplicate_predicate_type_rejected(offline_env):
    root, dist, publish, _ = _v019()
    p = pep740_cli(offline_env, root, dist, publish, publish,
                   repository="trailofbits/pypi-attestations", workflow="release.yml")
    assert p.returncode == 1
    assert "Multiple attestations for the same file with the same predicate type" in p.stdout


def test_pep740_more_than_two_attestations_rejected(offline_env):
    root, dist, publish, slsa = _v019()
    p = pep740_cli(offline_env, root, dist, publish, slsa, publish,
                   repository="trailofbits/pypi-attestations", workflow="release.yml")
    assert p.returncode == 1 and "A maximum of 2 attestations per file are supported" in p.stdout


def test_pep740_cli_digest_and_filename_mismatch(offline_env, tmp_path):
    root, dist, publish, _ = _v019()
    # same name, other bytes
    (tmp_path / "a").mkdir()
    bad = tmp_path / "a" / dist.name
    bad.write_bytes(dist.read_bytes() + b"\0")
    p = pep740_cli(offline_env, root, bad, publish,
                   repository="trailofbits/pypi-attestations", workflow="release.yml")
    assert p.returncode == 1 and "subject does not match distribution digest" in p.stdout
    # same bytes, other (valid) name
    (tmp_path / "b").mkdir()
    renamed = tmp_path / "b" / "pypi_attestations-0.0.20.tar.gz"
    shutil.copyfile(dist, renamed)
    p = pep740_cli(offline_env, root, renamed, publish,
                   repository="trailofbits/pypi-attestations", workflow="release.yml")
    assert p.returncode == 1 and "subject does not match distribution name" in p.stdout


def test_pep740_environment_is_recorded_not_checked(offline_env):
    # PyPI's GitHub policy ignores the environment; so does the judge.
    root, dist, publish, _ = _v019()
    p = pep740_cli(offline_env, root, dist, publish, repository="trailofbits/pypi-attestations",
                   workflow="release.yml", extra=("--environment", "pypi"))
    assert p.returncode == 0 and "environment is not checked" in p.stdout


def test_pep740_server_url(offline_env):
    root, dist, publish, _ = _v019()
    ok = pep740_cli(offline_env, root, dist, publish, repository="trailofbits/pypi-attestations",
                    workflow="release.yml", extra=("--server-url", "https://github.com/"))
    assert ok.returncode == 0
    ghes = pep740_cli(offline_env, root, dist, publish, repository="trailofbits/pypi-attestations",
                      workflow="release.yml", extra=("--server-url", "https://ghe.example.com"))
    assert ghes.returncode == 1 and "OIDCSourceRepositoryURI does not match" in ghes.stdout


def test_pep740_gitlab_case(offline_env):
    name = "pep740-gitlab_oidc_project-0.0.3-wrong-workflow"
    e = expected(name)
    d = case(name)
    pub = e["policy"]["publisher"]
    assert pub["kind"] == "GitLab" and e["expected"] == "fail"
    dist = Distribution.from_file(d / e["artifact"])
    verifier = J.load_verifier(d / e["trusted_root"])
    att = [d / e["attestation"]]
    # Library's own GitLab publisher, policy from expected.json: must fail on the workflow.
    ok, res, _ = J.verify_attestations(
        dist, att, GitLabPublisher(repository=pub["repository"], workflow_filepath=pub["workflow_filepath"]), verifier)
    assert not ok and "does not match expected Trusted Publisher (wrong.yml" in res[0].error
    # ...and the failure is the policy, not the crypto: the real workflow file passes.
    ok, res, _ = J.verify_attestations(
        dist, att, GitLabPublisher(repository=pub["repository"], workflow_filepath=".gitlab-ci.yml"), verifier)
    assert ok, res
    # The GitHub judge rejects a GitLab-signed attestation whatever the names.
    p = pep740_cli(offline_env, d / e["trusted_root"], d / e["artifact"], *att, issuer="https://gitlab.com",
                   repository=pub["repository"], workflow=".gitlab-ci.yml")
    assert p.returncode == 1 and "OIDCSourceRepositoryURI does not match" in p.stdout


GITLAB_CASE = "pep740-gitlab_oidc_project-0.0.3-wrong-workflow"
GITLAB_PROJECT = "facutuesca/gitlab-oidc-project"


def _gitlab_cli(env, *, issuer="https://gitlab.com", repository=GITLAB_PROJECT, workflow=".gitlab-ci.yml", extra=()):
    e = expected(GITLAB_CASE)
    d = case(GITLAB_CASE)
    return pep740_cli(env, d / e["trusted_root"], d / e["artifact"], d / e["attestation"], issuer=issuer,
                      repository=repository, workflow=workflow, extra=("--kind", "gitlab", *extra))


def test_pep740_gitlab_cli_passes_like_the_library(offline_env):
    p = _gitlab_cli(offline_env)
    assert p.returncode == 0, p.stdout
    assert "publisher: GitLab repository=facutuesca/gitlab-oidc-project workflow_filepath=.gitlab-ci.yml" in p.stdout
    assert f"predicateType={PUBLISH}" in p.stdout and "RESULT: PASS" in p.stdout


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"workflow": "wrong.yml"},
         "does not match expected Trusted Publisher (wrong.yml @ facutuesca/gitlab-oidc-project)"),
        ({"workflow": "ci/.gitlab-ci.yml"}, "does not match expected Trusted Publisher"),
        ({"repository": "facutuesca/other-project"}, "OIDCSourceRepositoryURI does not match"),
        ({"repository": "facutuesca/GitLab-OIDC-Project"}, "OIDCSourceRepositoryURI does not match"),
        ({"issuer": LOCAL_ISSUER + "/gitlab"},
         "OIDCIssuerV2 does not match (got https://gitlab.com, expected http://127.0.0.1:8090/gitlab)"),
    ],
    ids=["wrong-config-file", "config-in-other-directory", "other-project", "project-case", "other-issuer"],
)
def test_pep740_gitlab_cli_rejects(offline_env, kw, message):
    p = _gitlab_cli(offline_env, **kw)
    assert p.returncode == 1
    assert "verdict=FAIL" in p.stdout and message in p.stdout


def test_pep740_gitlab_cli_has_no_server_url(offline_env):
    p = _gitlab_cli(offline_env, extra=("--server-url", "https://gitlab.example.com"))
    assert p.returncode == 2 and "--server-url is for GitHub publishers" in p.stderr


def test_gitlab_issuer_policy_is_the_library_policy_with_only_the_issuer_swapped():
    lib = GitLabPublisher(repository="g/sub/p", workflow_filepath="ci/release.yml")._as_policy()
    ours = J.IssuerGitLabPublisher(repository="g/sub/p", workflow_filepath="ci/release.yml",
                                   issuer=LOCAL_ISSUER + "/gitlab")._as_policy()
    assert isinstance(ours, type(lib))
    a, b = lib._subpolicy._children, ours._subpolicy._children
    assert [type(x) for x in a] == [type(x) for x in b]
    for x, y in zip(a, b):
        if isinstance(x, policy.OIDCIssuerV2):
            assert (x._value, y._value) == ("https://gitlab.com", LOCAL_ISSUER + "/gitlab")
        else:
            assert x._value == y._value
    assert (ours._repository, ours._workflow_filepath) == (lib._repository, lib._workflow_filepath)
    # It is a GitLabPublisher, so Attestation.verify takes the publisher branch.
    assert isinstance(J.IssuerGitLabPublisher(repository="g/p", workflow_filepath=".gitlab-ci.yml"), GitLabPublisher)


@pytest.mark.parametrize("name", sorted(EMAIL_CASES))
def test_pep740_email_identity_cases(name):
    e = expected(name)
    d = case(name)
    if e.get("artifact"):
        dist = Distribution.from_file(d / e["artifact"])
    else:  # spt3g: wheel not shipped, only its name and digest
        algo, hexd = e["artifact_digest"].split(":")
        assert algo == "sha256"
        dist = Distribution(name=e["distribution_name"], digest=hexd)
    identity = policy.Identity(identity=e["identity"], issuer=e["issuer"])
    ok, res, set_errors = J.verify_attestations(
        dist, [d / e["attestation"]], identity, J.load_verifier(d / e["trusted_root"]))
    want = EMAIL_CASES[name]
    assert (e["expected"] == "pass") == (want == "pass")
    if want == "pass":
        assert ok, (res, set_errors)
        assert res[0].predicate_type == PUBLISH
    else:
        assert not ok and want in res[0].error, res


# ------------------------------------------- facts about what pypi-attestations accepts


def _mutated(tmp_path, mutate) -> Path:
    _, _, publish, _ = _v019()
    obj = json.loads(publish.read_text())
    obj2 = copy.deepcopy(obj)
    mutate(obj2)
    p = tmp_path / "pypi_attestations-0.0.19.tar.gz.publish.attestation"
    p.write_text(json.dumps(obj2))
    return p


def _tle(o):
    return o["verification_material"]["transparency_entries"][0]


def _snake(o):
    t = _tle(o)
    m = {"logIndex": "log_index", "logId": "log_id", "kindVersion": "kind_version",
         "integratedTime": "integrated_time", "inclusionPromise": "inclusion_promise",
         "inclusionProof": "inclusion_proof", "canonicalizedBody": "canonicalized_body"}
    o["verification_material"]["transparency_entries"][0] = {m[k]: v for k, v in t.items()}


FORMAT_FACTS = [
    # (id, mutation, None = still verifies, else substring of the error)
    ("baseline", lambda o: None, None),
    ("tle-snake_case-keys-accepted", _snake, None),
    ("extra-top-level-field-ignored", lambda o: o.update(extra=1), None),
    ("only-first-tle-used", lambda o: o["verification_material"]["transparency_entries"].append({"junk": 1}), None),
    ("uint64-as-json-number-rejected", lambda o: _tle(o).update(logIndex=int(_tle(o)["logIndex"])),
     "invalid transparency log entry"),
    ("unknown-tle-field-rejected", lambda o: _tle(o).update(extra="x"), "invalid transparency log entry"),
    ("checkpoint-required", lambda o: _tle(o)["inclusionProof"].pop("checkpoint"),
     "invalid transparency log entry"),
    ("inclusion-promise-required", lambda o: _tle(o).pop("inclusionPromise"),
     "bundle must contain an inclusion promise or signed timestamp"),
    ("integrated-time-required", lambda o: _tle(o).pop("integratedTime"), "not enough sources of verified time"),
    ("kind-must-be-dsse", lambda o: _tle(o).update(kindVersion={"kind": "hashedrekord", "version": "0.0.1"}),
     "Unsupported DSSE log entry type: hashedrekord/0.0.1"),
    ("version-must-be-1", lambda o: o.update(version=2), "Malformed attestation"),
    ("empty-transparency_entries-rejected",
     lambda o: o["verification_material"].update(transparency_entries=[]), "at least 1 item"),
    ("camelCase-top-level-rejected", lambda o: o.update(verificationMaterial=o.pop("verification_material")),
     "Malformed attestation"),
]


@pytest.mark.parametrize("mutate, error", [f[1:] for f in FORMAT_FACTS], ids=[f[0] for f in FORMAT_FACTS])
def test_attestation_format_facts(tmp_path, mutate, error):
    root, dist, _, _ = _v019()
    att = _mutated(tmp_path, mutate)
    pub = J.IssuerGitHubPublisher(repository="trailofbits/pypi-attestations", workflow="release.yml",
                                  issuer=GH_ISSUER)
    ok, res, _ = J.verify_attestations(Distribution.from_file(dist), [att], pub, J.load_verifier(root))
    if error is None:
        assert ok, res
    else:
        assert not ok and error in res[0].error, res


@pytest.mark.parametrize("predicate", ["absent", "null", "{}"])
def test_statement_predicate_forms_accepted(predicate):
    # The exact model Attestation.verify() validates the signed statement with
    # (sigstore.dsse._Statement). Real signed data for null ({0.0.19}) and {} (0.0.4a2)
    # is verified above; "absent" cannot be re-signed offline, so the model is checked.
    from sigstore.dsse import _Statement

    stmt = {"_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "a-1.0.tar.gz", "digest": {"sha256": "00" * 32}}],
            "predicateType": PUBLISH}
    if predicate != "absent":
        stmt["predicate"] = json.loads(predicate)
    s = _Statement.model_validate_json(json.dumps(stmt))
    assert s.predicate_type == PUBLISH


def test_real_statements_use_null_and_empty_predicate():
    _, _, publish, _ = _v019()
    st = json.loads(base64.b64decode(json.loads(publish.read_text())["envelope"]["statement"]))
    assert "predicate" in st and st["predicate"] is None
    old = case("pep740-pypi_attestation_models-0.0.4a2") / "pypi_attestation_models-0.0.4a2.tar.gz.attestation"
    st = json.loads(base64.b64decode(json.loads(old.read_text())["envelope"]["statement"]))
    assert st["predicate"] == {}


def test_issuer_policy_is_the_library_policy_with_only_the_issuer_swapped():
    lib = GitHubPublisher(repository="o/r", workflow="w.yml")._as_policy()
    ours = J.IssuerGitHubPublisher(repository="o/r", workflow="w.yml", issuer=LOCAL_ISSUER)._as_policy()
    assert isinstance(ours, type(lib))
    a, b = lib._subpolicy._children, ours._subpolicy._children
    assert [type(x) for x in a] == [type(x) for x in b]
    for x, y in zip(a, b):
        if isinstance(x, policy.OIDCIssuerV2):
            assert (x._value, y._value) == (GH_ISSUER, LOCAL_ISSUER)
        else:
            assert x._value == y._value
    assert (ours._repository, ours._workflow) == (lib._repository, lib._workflow)


# ---------------------------------------------------------------- sigstore-python recipe


def trust_config(tmp_path, trusted_root, signing_config=None) -> Path:
    return TC.write(trusted_root, tmp_path / "trust_config.json", signing_config)


def sigstore_verify(env, tc, d: Path, identity=CONFORMANCE_ID, issuer=GH_ISSUER, artifact="artifact"):
    return run(env, "-m", "sigstore", "--trust-config", str(tc), "verify", "identity", "--offline",
               "--bundle", str(d / "bundle.sigstore.json"), "--cert-identity", identity,
               "--cert-oidc-issuer", issuer, str(d / artifact))


@pytest.mark.parametrize("name", ["conformance-happy-path-v0.1", "conformance-happy-path-v0.2",
                                  "conformance-happy-path-v0.3-new-mediaType",
                                  "conformance-rekor2-timestamp-with-embedded-cert"])
def test_sigstore_python_verifies_offline(offline_env, tmp_path, name):
    e = expected(name)
    d = case(name)
    assert e["expected"] == "pass" and e["identity"] == CONFORMANCE_ID and e["issuer"] == GH_ISSUER
    tc = trust_config(tmp_path, d / "trusted_root.json")
    p = sigstore_verify(offline_env, tc, d)
    assert p.returncode == 0 and "OK:" in p.stdout + p.stderr


def test_sigstore_python_cli_via_script(offline_env, tmp_path):
    d = case("conformance-happy-path-v0.3-new-mediaType")
    out = tmp_path / "tc.json"
    p = run(offline_env, str(HERE / "sigstore_trust_config.py"), "--trusted-root",
            str(d / "trusted_root.json"), "--out", str(out))
    assert p.returncode == 0
    doc = json.loads(out.read_text())
    assert doc["mediaType"] == "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"
    assert doc["trustedRoot"] == json.loads((d / "trusted_root.json").read_text())
    assert sigstore_verify(offline_env, out, d).returncode == 0


@pytest.mark.parametrize(
    "name, kw",
    [
        ("conformance-happy-path-v0.3-new-mediaType", {"identity": CONFORMANCE_ID.replace("main", "evil")}),
        ("conformance-happy-path-v0.3-new-mediaType", {"issuer": LOCAL_ISSUER}),
        ("conformance-signature-mismatch_fail", {}),
        ("conformance-wrong-hashedrekord-entry_fail", {}),
    ],
    ids=["wrong-identity", "wrong-issuer", "signature-mismatch", "wrong-hashedrekord-entry"],
)
def test_sigstore_python_rejects(offline_env, tmp_path, name, kw):
    d = case(name)
    tc = trust_config(tmp_path, d / "trusted_root.json")
    assert sigstore_verify(offline_env, tc, d, **kw).returncode != 0


def test_sigstore_python_wrong_root_rejected(offline_env, tmp_path):
    # A foreign root (staging) must not verify a production bundle: the file's root is used.
    d = case("conformance-happy-path-v0.3-new-mediaType")
    tc = trust_config(tmp_path, case("pep740-rfc8785-0.1.2-staging") / "trusted_root.json")
    assert sigstore_verify(offline_env, tc, d).returncode != 0


def test_trust_config_with_signing_config(tmp_path):
    # A real v0.2 signing config (the one sigstore-python embeds for production).
    import sigstore

    store = Path(sigstore.__file__).parent / "_store" / "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
    tc = trust_config(tmp_path, store / "trusted_root.json", store / "signing_config.v0.2.json")
    from sigstore.models import ClientTrustConfig

    cfg = ClientTrustConfig.from_json(tc.read_text())
    assert cfg.signing_config.get_fulcio().url.startswith("https://fulcio")


# ---------------------------------------------------------------- sample project


def test_sample_project_builds_and_passes_twine_check(offline_env, tmp_path):
    # Build a copy (setuptools writes *.egg-info into the source tree) without build
    # isolation, as the e2e tests do: the backend comes from this venv, not the network.
    src = tmp_path / "src"
    shutil.copytree(REPO / "testdata" / "sampleproject", src,
                    ignore=shutil.ignore_patterns("*.egg-info", "build", "dist"))
    out = tmp_path / "dist"
    p = run(offline_env, "-m", "build", "--no-isolation", "--outdir", str(out), str(src))
    assert p.returncode == 0
    files = sorted(x.name for x in out.iterdir())
    assert files == ["attest_publish_sample-0.1.0-py3-none-any.whl", "attest_publish_sample-0.1.0.tar.gz"]
    p = run(offline_env, "-m", "twine", "check", "--strict", *(str(out / f) for f in files))
    assert p.returncode == 0
    assert p.stdout.count("PASSED") == 2 and "WARNING" not in p.stdout + p.stderr
    with zipfile.ZipFile(out / files[0]) as z:
        meta = z.read("attest_publish_sample-0.1.0.dist-info/METADATA").decode()
    for field in ("Name: attest-publish-sample", "Version: 0.1.0", "License-Expression: MIT",
                  "Requires-Python:", "Classifier:", "Project-URL:", "Author-email:",
                  "Description-Content-Type: text/markdown"):
        assert field in meta
    with tarfile.open(out / files[1]) as t:
        assert "attest_publish_sample-0.1.0/PKG-INFO" in t.getnames()
    # Both names parse as PEP 740 subjects.
    for f in files:
        Distribution(name=f, digest=hashlib.sha256((out / f).read_bytes()).hexdigest())
