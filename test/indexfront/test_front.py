"""Self-test of the trusted-publishing front: real pypiserver + front + our OIDC issuer.

Run (from the repository root, needs Go for the OIDC issuer)::

    .cache/venv/bin/python -m pytest -q test/indexfront

GitLab publishers (warehouse's GitLab model) are exercised with the issuer's
``kind=gitlab`` tokens, from its GitLab sub-issuer; tokens a CI provider would never
make (a claim missing, two audiences, a foreign issuer) are re-signed here with the
issuer's own key.

Not covered here: uploads WITH valid PEP 740 attestations. Producing them needs the
full local Sigstore stack (Fulcio, Rekor, trusted root); the Go e2e test does that.
Here only malformed/invalid attestation sets are checked (rejected before any
Sigstore verification, or by the judge against an unrelated trusted root).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import jwt
import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
from harness import Harness, free_port, wait_http  # noqa: E402

VENV_BIN = Path(sys.executable).parent
# Any valid trusted root will do for the "invalid attestations" cases.
import sigstore  # noqa: E402

TRUSTED_ROOT = next(Path(sigstore.__file__).parent.glob("_store/*sigstore.dev/trusted_root.json"))

REPO = "octo-org/octo-repo"
WF = REPO + "/.github/workflows/%s@refs/heads/main"
PUBLISHERS = [
    {"project": "attest-publish-sample", "kind": "github", "repository": REPO,
     "repository_owner": "octo-org", "repository_owner_id": "9919",
     "workflow": "release.yml", "environment": None},
    {"project": "env-project", "kind": "github", "repository": REPO,
     "repository_owner": "octo-org", "repository_owner_id": "9919",
     "workflow": "deploy.yml", "environment": "production"},
    # GitLab (tokens from the issuer's /gitlab sub-issuer, standing in for gitlab.com)
    {"project": "attest-publish-sample", "kind": "gitlab", "project_path": REPO,
     "workflow_filepath": ".gitlab-ci.yml", "environment": None},
    {"project": "gl-env-project", "kind": "gitlab", "project_path": REPO,
     "workflow_filepath": "ci/release.yml", "environment": "production"},
    # registered with another case than the project's (the "case trap")
    {"project": "gl-case-project", "kind": "gitlab", "project_path": "Octo-Org/Octo-Repo",
     "workflow_filepath": "ci/case.yml"},
    # a self-managed instance: tokens standing in for gitlab.com never match it
    {"project": "gl-self-managed", "kind": "gitlab", "project_path": REPO,
     "workflow_filepath": "self.yml", "issuer": "https://gitlab.example.com"},
]
SHA = "0123456789abcdef0123456789abcdef01234567"  # test/oidcissuer's GitLab sha claim


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("indexfront")


@pytest.fixture(scope="session")
def issuer(tmp):
    if shutil.which("go") is None:
        pytest.skip("go is needed to run the OIDC issuer (test/localstack/cmd/stack)")
    binary = tmp / "stack"
    subprocess.run(["go", "build", "-o", str(binary), "./test/localstack/cmd/stack"],
                   cwd=ROOT, check=True, env={**os.environ, "GOTOOLCHAIN": "auto"})
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    rt = secrets.token_urlsafe(12)
    with open(tmp / "oidc.log", "wb") as log:
        proc = subprocess.Popen([str(binary), "oidc", "--addr", f"127.0.0.1:{port}",
                                 "--issuer", url, "--key", str(tmp / "oidc.key"),
                                 "--request-token", rt], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(url + "/.well-known/jwks", proc)
        yield {"url": url, "request_token": rt, "key": tmp / "oidc.key"}
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="session")
def front(tmp, issuer):
    pubs = tmp / "publishers.json"
    pubs.write_text(json.dumps(PUBLISHERS))
    with Harness(tmp / "h", issuer["url"], pubs, TRUSTED_ROOT) as h:
        yield {**h.env, "_UPSTREAM_AUTH": h.upstream_auth}


@pytest.fixture(scope="session")
def dists(tmp):
    src = tmp / "sampleproject"
    shutil.copytree(ROOT / "testdata" / "sampleproject", src)
    out = tmp / "dist"
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), "."],
                   cwd=src, check=True, capture_output=True)
    return {"wheel": next(out.glob("*.whl")), "sdist": next(out.glob("*.tar.gz"))}


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def oidc_token(issuer, audience="pypi", **claims) -> str:
    q = urllib.parse.urlencode({"audience": audience, **claims})
    req = urllib.request.Request(issuer["url"] + "/token?" + q,
                                 headers={"Authorization": "Bearer " + issuer["request_token"]})
    with urllib.request.urlopen(req) as r:
        return json.load(r)["value"]


def post(url, body: bytes, headers=None):
    req = urllib.request.Request(url, data=body, headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.reason, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.reason, e.read()


def mint(front, token):
    status, _, body = post(front["INDEXFRONT_URL"] + "/_/oidc/mint-token",
                           json.dumps({"token": token}).encode(),
                           {"Content-Type": "application/json"})
    return status, json.loads(body)


def mint_ok(front, issuer, **claims) -> str:
    status, body = mint(front, oidc_token(issuer, **claims))
    assert status == 200, body
    return body["token"]


def assert_mint_error(front, token, code, contains=""):
    status, body = mint(front, token)
    assert status == 422, body
    assert body["message"] == "Token request failed"
    assert [e["code"] for e in body["errors"]] == [code], body
    assert contains in body["errors"][0]["description"], body


def multipart(fields: list[tuple[str, str]], filename: str, content: bytes):
    boundary = uuid.uuid4().hex
    out = []
    for k, v in fields:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n'
                   .encode() + v.encode() + b"\r\n")
    out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="content"; '
               f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
               .encode() + content + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


def raw_upload(front, token, path: Path, name="attest-publish-sample", attestations=None):
    fields = [(":action", "file_upload"), ("protocol_version", "1"), ("name", name),
              ("version", "0.1.0"), ("filetype", "bdist_wheel"), ("pyversion", "py3"),
              ("metadata_version", "2.4")]
    if attestations is not None:
        fields.append(("attestations", attestations))
    body, ctype = multipart(fields, path.name, path.read_bytes())
    auth = "Basic " + base64.b64encode(f"__token__:{token}".encode()).decode()
    return post(front["INDEXFRONT_UPLOAD_URL"], body,
                {"Content-Type": ctype, "Authorization": auth})


def twine(front, token, *files, extra=()):
    return subprocess.run([str(VENV_BIN / "twine"), "upload", "--disable-progress-bar",
                           "--non-interactive", *extra,
                           "--repository-url", front["INDEXFRONT_UPLOAD_URL"],
                           "-u", "__token__", "-p", token, *map(str, files)],
                          capture_output=True, text=True)


# ---------------------------------------------------------------------------
# trusted-publishing exchange
# ---------------------------------------------------------------------------


def test_audience(front):
    with urllib.request.urlopen(front["INDEXFRONT_URL"] + "/_/oidc/audience") as r:
        assert json.load(r) == {"audience": "pypi"}


def test_mint_success(front, issuer):
    status, body = mint(front, oidc_token(issuer))
    assert status == 200, body
    assert body["success"] is True and body["token"].startswith("pypi-")
    assert abs(body["expires"] - (time.time() + 900)) < 30


def test_mint_environment_publisher(front, issuer):
    wf = WF % "deploy.yml"
    mint_ok(front, issuer, job_workflow_ref=wf, workflow_ref=wf, environment="Production")


def test_wrong_workflow(front, issuer):
    wf = WF % "other.yml"
    assert_mint_error(front, oidc_token(issuer, job_workflow_ref=wf, workflow_ref=wf),
                      "invalid-publisher",
                      "valid token, but no corresponding publisher (Publisher with matching "
                      "claims was not found)")


def test_wrong_environment(front, issuer):
    wf = WF % "deploy.yml"
    assert_mint_error(front, oidc_token(issuer, job_workflow_ref=wf, workflow_ref=wf,
                                        environment="staging"), "invalid-publisher")
    # an environment-bound publisher does not accept a token without environment
    assert_mint_error(front, oidc_token(issuer, job_workflow_ref=wf, workflow_ref=wf),
                      "invalid-publisher")


def test_wrong_owner_id(front, issuer):
    assert_mint_error(front, oidc_token(issuer, repository_owner_id="1"), "invalid-publisher")


def test_repository_case_insensitive(front, issuer):
    mint_ok(front, issuer, repository="Octo-Org/Octo-Repo")


def test_pull_request_target(front, issuer):
    assert_mint_error(front, oidc_token(issuer, event_name="pull_request_target"),
                      "invalid-publisher",
                      "Publishing from a workflow invoked via 'pull_request_target' is not "
                      "supported.")


def test_jti_reuse(front, issuer):
    tok = oidc_token(issuer)
    assert mint(front, tok)[0] == 200
    assert_mint_error(front, tok, "invalid-reuse-token", "invalid token: already used")


def test_bad_signature(front, issuer):
    head, payload, sig = oidc_token(issuer).split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[0] ^= 0xFF
    bad = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert_mint_error(front, ".".join([head, payload, bad]), "invalid-token")


def test_foreign_key(front, issuer):
    # well-formed, right issuer and kid, signed by another key
    from cryptography.hazmat.primitives.asymmetric import rsa

    real = oidc_token(issuer)
    claims = jwt.decode(real, options={"verify_signature": False})
    kid = jwt.get_unverified_header(real).get("kid")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid} if kid else None)
    assert_mint_error(front, forged, "invalid-token")


def test_expired(front, issuer):
    assert_mint_error(front, oidc_token(issuer, exp_in="-120"), "invalid-token")


def test_wrong_audience(front, issuer):
    assert_mint_error(front, oidc_token(issuer, audience="sigstore"), "invalid-token")


def test_malformed(front):
    assert_mint_error(front, "not-a-jwt", "invalid-payload")
    status, _, body = post(front["INDEXFRONT_URL"] + "/_/oidc/mint-token", b"{}")
    assert status == 422 and body and json.loads(body)["errors"][0]["code"] == "invalid-payload"


# ---------------------------------------------------------------------------
# uploads
# ---------------------------------------------------------------------------


def test_upload_without_attestations_then_install(front, issuer, dists, tmp):
    token = mint_ok(front, issuer)
    r = twine(front, token, dists["wheel"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert (Path(front["INDEXFRONT_PACKAGES_DIR"]) / dists["wheel"].name).is_file()

    dl = tmp / "download"
    r = subprocess.run([str(VENV_BIN / "pip"), "download", "--no-deps", "--no-cache-dir",
                        "--index-url", front["INDEXFRONT_SIMPLE_URL"], "-d", str(dl),
                        "attest-publish-sample==0.1.0"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (dl / dists["wheel"].name).read_bytes() == dists["wheel"].read_bytes()

    # existing file: 400 File already exists, like PyPI
    r = twine(front, token, dists["wheel"])
    assert r.returncode != 0
    assert "400" in r.stdout + r.stderr and "File already exists" in r.stdout + r.stderr
    status, reason, _ = raw_upload(front, token, dists["wheel"])
    assert status == 400 and reason.startswith("File already exists")

    # no attestations were uploaded: the Integrity API has nothing
    url = (front["INDEXFRONT_URL"] + "/integrity/attest-publish-sample/0.1.0/"
           + dists["wheel"].name + "/provenance")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url)
    assert e.value.code == 404


def test_upload_auth(front, issuer, dists):
    status, reason, _ = raw_upload(front, "pypi-unknown", dists["wheel"])
    assert status == 403 and reason.startswith("Invalid or non-existent authentication")
    # a token of the env-project publisher may not upload attest-publish-sample
    wf = WF % "deploy.yml"
    tok = mint_ok(front, issuer, job_workflow_ref=wf, workflow_ref=wf, environment="production")
    status, _, _ = raw_upload(front, tok, dists["sdist"])
    assert status == 403


@pytest.mark.parametrize("attestations, reason", [
    ("not json", "Malformed attestations"),
    ("{}", "Malformed attestations"),
    ("[]", "empty attestation set"),
    ("[{}]", "Malformed attestation"),
    ("[{}, {}, {}]", "maximum of 2 attestations"),
])
def test_malformed_attestations(front, issuer, dists, attestations, reason):
    token = mint_ok(front, issuer)
    status, status_reason, body = raw_upload(front, token, dists["sdist"], attestations=attestations)
    assert status == 400, body
    assert status_reason.startswith("Invalid attestations supplied during upload: "), status_reason
    assert reason in body.decode(), body
    # nothing reached pypiserver
    assert not (Path(front["INDEXFRONT_PACKAGES_DIR"]) / dists["sdist"].name).exists()


def test_fail_after(tmp, issuer, dists):
    pubs = tmp / "publishers-fail.json"
    pubs.write_text(json.dumps(PUBLISHERS))
    with Harness(tmp / "hfail", issuer["url"], pubs, TRUSTED_ROOT, fail_after=1) as h:
        token = mint_ok(h.env, issuer)
        assert raw_upload(h.env, token, dists["wheel"])[0] == 200
        with pytest.raises((urllib.error.URLError, ConnectionError, http_client_errors())):
            raw_upload(h.env, token, dists["sdist"])
        assert post(h.env["INDEXFRONT_URL"] + "/_/front/heal", b"")[0] == 200
        # a rerun: the existing wheel answers "File already exists", the sdist lands
        status, reason, _ = raw_upload(h.env, token, dists["wheel"])
        assert status == 400 and "File already exists" in reason
        assert raw_upload(h.env, token, dists["sdist"])[0] == 200


def http_client_errors():
    import http.client

    return http.client.HTTPException


def test_real_attestation_wrong_identity(front, issuer, dists):
    """A real, well-formed PyPI attestation (pypi-attestations 0.0.19, public-good Sigstore)
    goes through the judge's full verification and is refused: other issuer, other
    repository and other subject than our publisher and file."""
    vectors = ROOT / "testdata" / "vectors"
    att = (vectors / "pep740-pypi_attestations-0.0.19-publish"
           / "pypi_attestations-0.0.19.tar.gz.publish.attestation")
    if not att.is_file():
        pytest.fail(f"test vector missing from the repository's testdata/vectors: {att}")
    token = mint_ok(front, issuer)
    one = json.loads(att.read_text())
    status, reason, body = raw_upload(front, token, dists["sdist"], attestations=json.dumps([one]))
    assert status == 400, body
    assert reason.startswith("Invalid attestations supplied during upload: "), reason
    assert "OIDCIssuerV2 does not match" in reason, reason
    assert not (Path(front["INDEXFRONT_PACKAGES_DIR"]) / dists["sdist"].name).exists()


def test_integrity_records_attestations(front, issuer, dists, tmp, monkeypatch):
    """Recording + Integrity API, with the Sigstore verification stubbed out.

    An in-process front on the same pypiserver; only verify_upload_attestations (the
    judge call, exercised for real above and in the Go e2e) is replaced.
    """
    import threading
    from http.server import ThreadingHTTPServer

    import front as frontmod

    pubs = tmp / "publishers-inproc.json"
    pubs.write_text(json.dumps(PUBLISHERS))
    args = frontmod_args(frontmod, front, issuer, pubs)
    monkeypatch.setattr(frontmod.Handler, "state", frontmod.State(args), raising=False)
    seen = []

    def fake_verify(state, token, filename, content, raw):
        seen.append(filename)
        return json.loads(raw)

    monkeypatch.setattr(frontmod, "verify_upload_attestations", fake_verify)
    srv = ThreadingHTTPServer(("127.0.0.1", 0), frontmod.Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        env = {"INDEXFRONT_URL": base, "INDEXFRONT_UPLOAD_URL": base + "/legacy/"}
        token = mint_ok(env, issuer)
        # a file name pypiserver has not seen (form and URL say 0.1.0; only the
        # front's bookkeeping is under test here)
        whl = tmp / "attest_publish_sample-0.1.1-py3-none-any.whl"
        shutil.copy(dists["wheel"], whl)
        fake = [{"version": 1, "note": "stub"}]
        status, reason, body = raw_upload(env, token, whl, attestations=json.dumps(fake))
        assert status == 200, (reason, body)
        assert seen == [whl.name]
        req = urllib.request.Request(
            f"{base}/integrity/Attest_Publish.Sample/0.1.0/{whl.name}/provenance",
            headers={"Accept": "application/vnd.pypi.integrity.v1+json"})
        with urllib.request.urlopen(req) as r:
            assert r.headers["Content-Type"] == "application/vnd.pypi.integrity.v1+json"
            got = json.load(r)
        assert got == {"version": 1, "attestation_bundles": [{
            "publisher": {"kind": "GitHub", "repository": REPO, "workflow": "release.yml",
                          "environment": None, "claims": {}},
            "attestations": fake}]}
        with urllib.request.urlopen(base + "/_/front/uploads") as r:
            assert [u["filename"] for u in json.load(r)] == [whl.name]

        # wrong-provenance: the first file's provenance becomes the second's.
        whl2 = tmp / "attest_publish_sample-0.1.1-py3-none-win32.whl"
        shutil.copy(dists["wheel"], whl2)
        other = [{"version": 1, "note": "the other file's"}]
        status, reason, body = raw_upload(env, mint_ok(env, issuer), whl2, attestations=json.dumps(other))
        assert status == 200, (reason, body)
        assert post(base + "/_/front/wrong-provenance", json.dumps([whl.name]).encode())[0] == 200
        with urllib.request.urlopen(req) as r:
            assert json.load(r)["attestation_bundles"][0]["attestations"] == other
        assert post(base + "/_/front/wrong-provenance", b"[]")[0] == 200
        with urllib.request.urlopen(req) as r:
            assert json.load(r)["attestation_bundles"][0]["attestations"] == fake
    finally:
        srv.shutdown()
        srv.server_close()


def frontmod_args(frontmod, front, issuer, pubs, **extra):
    import argparse

    upstream_auth = front["_UPSTREAM_AUTH"]
    return argparse.Namespace(
        audience="pypi", issuer=issuer["url"], upstream=front["INDEXFRONT_UPSTREAM_URL"],
        upstream_auth=upstream_auth, publishers=str(pubs), trusted_root=None, fail_after=None,
        **extra)


# ---------------------------------------------------------------------------
# GitLab publishers (warehouse/oidc/models/gitlab.py)
# ---------------------------------------------------------------------------

NOT_FOUND = "valid token, but no corresponding publisher (Publisher with matching claims was not found)"


def gl_token(issuer, file=".gitlab-ci.yml", path=REPO, ref="refs/heads/main", audience="pypi",
             **claims) -> str:
    """A GitLab CI token whose ci_config_ref_uri names `file` of `path` at `ref`."""
    claims.setdefault("ci_config_ref_uri", f"gitlab.com/{path}//{file}@{ref}")
    if path != REPO:
        claims.setdefault("project_path", path)
    return oidc_token(issuer, audience=audience, kind="gitlab", **claims)


def resign(issuer, token, drop=(), **claims) -> str:
    """The token's claims, less `drop`, plus `claims`, signed with the issuer's own key."""
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(Path(issuer["key"]).read_bytes(), None)
    body = jwt.decode(token, options={"verify_signature": False})
    for c in drop:
        del body[c]
    body.update(claims)
    return jwt.encode(body, key, algorithm="RS256",
                      headers={"kid": jwt.get_unverified_header(token)["kid"]})


def test_gitlab_mint(front, issuer):
    mint_ok(front, issuer, kind="gitlab")
    # pinned to the commit instead of the ref
    status, body = mint(front, gl_token(issuer, ref=SHA))
    assert status == 200, body
    # a customised sub keeps project_path first; any case
    status, body = mint(front, gl_token(issuer, sub="PROJECT_PATH:Octo-Org/Octo-Repo:ref:main"))
    assert status == 200, body
    # an environment is accepted by a publisher without one
    status, body = mint(front, gl_token(issuer, environment="anything"))
    assert status == 200, body


def test_gitlab_wrong_ci_config_path(front, issuer):
    assert_mint_error(front, gl_token(issuer, file="other.yml"), "invalid-publisher", NOT_FOUND)
    # the pipeline file path is matched exactly, case included
    assert_mint_error(front, gl_token(issuer, file=".GitLab-CI.yml"), "invalid-publisher", NOT_FOUND)
    # a pipeline file of the same name in another directory
    assert_mint_error(front, gl_token(issuer, file="ci/.gitlab-ci.yml"), "invalid-publisher",
                      NOT_FOUND)


def test_gitlab_ci_config_ref_uri_case(front, issuer):
    # The lookup ignores case, the ci_config_ref_uri check does not.
    want = ("valid token, but no corresponding publisher (The ci_config_ref_uri claim does not "
            "match, expecting one of ['gitlab.com/octo-org/octo-repo//.gitlab-ci.yml@" + SHA + "', "
            "'gitlab.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/main'], got "
            "'gitlab.com/Octo-Org/octo-repo//.gitlab-ci.yml@refs/heads/main')")
    assert_mint_error(front, gl_token(issuer, path="Octo-Org/octo-repo"), "invalid-publisher", want)
    # a publisher registered with another case than the project's
    want = ("(The ci_config_ref_uri claim does not match, expecting one of "
            "['gitlab.com/Octo-Org/Octo-Repo//ci/case.yml@" + SHA + "', "
            "'gitlab.com/Octo-Org/Octo-Repo//ci/case.yml@refs/heads/main'], got "
            "'gitlab.com/octo-org/octo-repo//ci/case.yml@refs/heads/main')")
    assert_mint_error(front, gl_token(issuer, file="ci/case.yml"), "invalid-publisher", want)
    # with the project's case it matches
    status, body = mint(front, gl_token(issuer, file="ci/case.yml", path="Octo-Org/Octo-Repo"))
    assert status == 200, body


def test_gitlab_ci_config_ref_uri_ref(front, issuer):
    # at neither the ref_path nor the sha
    assert_mint_error(front, gl_token(issuer, ref="refs/heads/other"), "invalid-publisher",
                      "The ci_config_ref_uri claim does not match, expecting one of")
    # another host
    assert_mint_error(front, gl_token(issuer, ci_config_ref_uri=(
        "gitlab.example.com/octo-org/octo-repo//.gitlab-ci.yml@refs/heads/main")),
        "invalid-publisher", "got 'gitlab.example.com/octo-org/octo-repo//.gitlab-ci.yml")
    # no pipeline file can be read from it
    for bad in ("", "gitlab.com/octo-org/octo-repo//.gitlab-ci.yml",
                "gitlab.com/octo-org/octo-repo/.gitlab-ci.yml@refs/heads/main",
                "gitlab.com/octo-org/octo-repo//ci/.yml@refs/heads/main"):
        assert_mint_error(front, gl_token(issuer, ci_config_ref_uri=bad), "invalid-publisher",
                          "(Could not extract workflow filename from OIDC claims)")


def test_gitlab_project_path_and_sub(front, issuer):
    # project_path names another project: the lookup fails
    assert_mint_error(front, gl_token(issuer, project_path="octo-org/other"),
                      "invalid-publisher", NOT_FOUND)
    # sub must start with project_path:<namespace>/<project>
    for sub in ("project_path:octo-org/other:ref_type:branch:ref:main",
                "repo:octo-org/octo-repo:ref:main", "project_path", "project_path:"):
        assert_mint_error(front, gl_token(issuer, sub=sub), "invalid-publisher",
                          "(Check failed for required claim 'sub')")


def test_gitlab_environment(front, issuer):
    wf = "ci/release.yml"
    status, body = mint(front, gl_token(issuer, file=wf, environment="production"))
    assert status == 200, body
    # exact, case-sensitive (GitHub environments are not)
    for env in ("Production", "staging"):
        assert_mint_error(front, gl_token(issuer, file=wf, environment=env), "invalid-publisher",
                          NOT_FOUND)
    # an environment-bound publisher refuses a job without an environment
    assert_mint_error(front, gl_token(issuer, file=wf), "invalid-publisher", NOT_FOUND)


def test_gitlab_environment_specific_publisher_first(tmp, issuer, front, dists):
    """With an environment-bound and a general publisher for the same pipeline, a token
    with that environment gets the environment-bound one (and its project)."""
    pubs = tmp / "publishers-gl-env.json"
    pubs.write_text(json.dumps([
        {"project": "general-project", "kind": "gitlab", "project_path": REPO,
         "workflow_filepath": ".gitlab-ci.yml"},
        {"project": "attest-publish-sample", "kind": "gitlab", "project_path": REPO,
         "workflow_filepath": ".gitlab-ci.yml", "environment": "pypi"},
    ]))
    with Harness(tmp / "hglenv", issuer["url"], pubs, TRUSTED_ROOT) as h:
        tok = mint_ok(h.env, issuer, kind="gitlab", environment="pypi")
        assert raw_upload(h.env, tok, dists["wheel"])[0] == 200
        tok = mint_ok(h.env, issuer, kind="gitlab", environment="staging")
        status, reason, _ = raw_upload(h.env, tok, dists["sdist"])
        assert status == 403 and "isn't valid for project" in reason


def test_gitlab_missing_claims(front, issuer):
    base = oidc_token(issuer, kind="gitlab")
    for claim in ("sub", "project_path", "ci_config_ref_uri", "jti", "ref_path", "sha"):
        assert_mint_error(front, resign(issuer, base, drop=[claim]), "invalid-publisher",
                          f"valid token, but no corresponding publisher (Missing claim '{claim}')")
    # present but empty
    for claim in ("ref_path", "sha"):
        assert_mint_error(front, gl_token(issuer, **{claim: ""}), "invalid-publisher",
                          "(The ref_path and sha claims are empty)")
    # unknown claims are fine (warehouse only reports them)
    status, body = mint(front, resign(issuer, base, job_source="push", brand_new_claim="x"))
    assert status == 200, body


def test_gitlab_jti_reuse(front, issuer):
    tok = gl_token(issuer)
    assert mint(front, tok)[0] == 200
    assert_mint_error(front, tok, "invalid-reuse-token", "invalid token: already used")
    # a refused token's jti is not spent
    bad = gl_token(issuer, file="other.yml")
    assert_mint_error(front, bad, "invalid-publisher")
    assert_mint_error(front, bad, "invalid-publisher")


def test_gitlab_invalid_token(front, issuer):
    want = "malformed or invalid token"
    tok = gl_token(issuer)
    assert_mint_error(front, resign(issuer, tok, aud=["pypi", "other"]), "invalid-token", want)
    assert_mint_error(front, resign(issuer, tok, aud=["pypi"]), "invalid-token", want)
    assert_mint_error(front, gl_token(issuer, audience="sigstore"), "invalid-token", want)
    assert_mint_error(front, oidc_token(issuer, kind="gitlab", exp_in="-120"), "invalid-token", want)
    assert_mint_error(front, resign(issuer, tok, drop=["iat"]), "invalid-token", want)
    head, payload, sig = gl_token(issuer).split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
    raw[0] ^= 0xFF
    bad = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    assert_mint_error(front, ".".join([head, payload, bad]), "invalid-token", want)
    # within warehouse's 30 s leeway
    status, body = mint(front, oidc_token(issuer, kind="gitlab", exp_in="-10"))
    assert status == 200, body


def test_gitlab_issuers(front, issuer):
    tok = gl_token(issuer)
    assert_mint_error(front, resign(issuer, tok, iss="https://gitlab.evil.example"),
                      "invalid-payload", "unknown trusted publishing issuer")
    # the GitHub issuer's tokens are never matched against GitLab publishers
    assert_mint_error(front, resign(issuer, tok, iss=issuer["url"]), "invalid-publisher",
                      "Missing claim 'repository'")
    # a publisher of a self-managed instance: tokens of gitlab.com never match it
    assert_mint_error(front, gl_token(issuer, file="self.yml"), "invalid-publisher", NOT_FOUND)


def test_gitlab_not_enabled(front, issuer, tmp):
    import front as frontmod

    pubs = tmp / "publishers-disallow.json"
    pubs.write_text(json.dumps(PUBLISHERS))
    state = frontmod.State(frontmod_args(frontmod, front, issuer, pubs, disallow_oidc=["gitlab"]))
    with pytest.raises(frontmod.MintError) as e:
        state.mint(json.dumps({"token": gl_token(issuer)}).encode())
    assert (e.value.code, e.value.description) == (
        "not-enabled", "gitlab trusted publishing functionality not enabled")
    assert state.mint(json.dumps({"token": oidc_token(issuer)}).encode())["success"]


def test_gitlab_pending_publishers(tmp, issuer, front, dists):
    pubs = tmp / "publishers-pending.json"
    pubs.write_text(json.dumps([
        {"project": "attest-publish-sample", "kind": "gitlab", "project_path": REPO,
         "workflow_filepath": ".gitlab-ci.yml"},
        {"project": "attest-publish-sample", "kind": "gitlab", "project_path": REPO,
         "workflow_filepath": "pending.yml", "pending": True},
        {"project": "brand-new-project", "kind": "gitlab", "project_path": REPO,
         "workflow_filepath": "new.yml", "pending": True},
    ]))
    with Harness(tmp / "hpending", issuer["url"], pubs, TRUSTED_ROOT) as h:
        # the project exists once its first file is uploaded
        tok = mint_ok(h.env, issuer, kind="gitlab")
        assert raw_upload(h.env, tok, dists["wheel"])[0] == 200
        assert_mint_error(h.env, gl_token(issuer, file="pending.yml"), "invalid-pending-publisher",
                          "valid token, but project already exists")
        # a pending publisher of a project that does not exist becomes its publisher
        tok = mint_ok(h.env, issuer, kind="gitlab",
                      ci_config_ref_uri=f"gitlab.com/{REPO}//new.yml@refs/heads/main")
        status, reason, _ = raw_upload(h.env, tok, dists["sdist"])  # its token is for that project only
        assert status == 403 and "isn't valid for project 'attest-publish-sample'" in reason
        # ... and stays it
        status, body = mint(h.env, gl_token(issuer, file="new.yml"))
        assert status == 200, body


def test_gitlab_upload_scope(front, issuer, dists):
    tok = mint_ok(front, issuer, kind="gitlab",
                  ci_config_ref_uri=f"gitlab.com/{REPO}//ci/release.yml@refs/heads/main",
                  environment="production")
    status, reason, _ = raw_upload(front, tok, dists["sdist"])
    assert status == 403 and "isn't valid for project 'attest-publish-sample'" in reason


def test_gitlab_real_attestation_wrong_identity(front, issuer, dists):
    """A real PyPI attestation (GitHub-made, public-good Sigstore) uploaded with a GitLab
    publisher's token goes through pypi-attestations' GitLab policy and is refused."""
    att = (ROOT / "testdata" / "vectors" / "pep740-pypi_attestations-0.0.19-publish"
           / "pypi_attestations-0.0.19.tar.gz.publish.attestation")
    token = mint_ok(front, issuer, kind="gitlab")
    one = json.loads(att.read_text())
    status, reason, body = raw_upload(front, token, dists["sdist"], attestations=json.dumps([one]))
    assert status == 400, body
    assert reason.startswith("Invalid attestations supplied during upload: "), reason
    assert "OIDCIssuerV2 does not match" in reason and issuer["url"] + "/gitlab" in reason, reason
    assert not (Path(front["INDEXFRONT_PACKAGES_DIR"]) / dists["sdist"].name).exists()


def test_gitlab_attestation_policy(front, issuer, tmp):
    """Only the library policy's issuer is swapped; a self-managed publisher keeps the
    library's own (gitlab.com) policy, as on PyPI."""
    import front as frontmod
    import pypi_attestations
    from sigstore.verify import policy

    pubs = tmp / "publishers-policy.json"
    pubs.write_text(json.dumps(PUBLISHERS))
    state = frontmod.State(frontmod_args(frontmod, front, issuer, pubs))
    gl = [p for p in state.publishers if p["kind"] == "gitlab"]
    ident = state.attestation_identity(gl[0])
    assert isinstance(ident, pypi_attestations.GitLabPublisher)
    assert (ident.kind, ident.repository, ident.workflow_filepath) == (
        "GitLab", REPO, ".gitlab-ci.yml")
    pol = ident._as_policy()
    assert isinstance(pol, pypi_attestations._impl._GitLabTrustedPublisherPolicy)
    children = pol._subpolicy._children
    assert [type(c) for c in children] == [policy.OIDCIssuerV2, policy.OIDCSourceRepositoryURI]
    assert [c._value for c in children] == [issuer["url"] + "/gitlab", "https://gitlab.com/" + REPO]
    selfmanaged = state.attestation_identity(gl[-1])
    assert type(selfmanaged) is pypi_attestations.GitLabPublisher
    assert selfmanaged._as_policy()._subpolicy._children[0]._value == "https://gitlab.com"


@pytest.mark.parametrize("entry, complaint", [
    ({"project_path": "octo-repo"}, "project_path"),
    ({"project_path": "octo-org/octo-repo.git"}, "invalid project"),
    ({"project_path": "octo--org/octo-repo"}, "invalid namespace"),
    ({"project_path": "-octo/octo-repo"}, "invalid namespace"),
    ({"workflow_filepath": "ci.txt"}, "workflow_filepath"),
    ({"workflow_filepath": "/.gitlab-ci.yml"}, "workflow_filepath"),
    ({"environment": "prod!"}, "invalid environment"),
    ({"issuer": "http://gitlab.example.com"}, "https URL"),
    ({"issuer": "LOCAL/gitlab"}, "stands in for it"),
])
def test_gitlab_publisher_config(front, issuer, tmp, entry, complaint):
    import front as frontmod

    pub = {"project": "p", "kind": "gitlab", "project_path": REPO,
           "workflow_filepath": ".gitlab-ci.yml"}
    pub.update({k: v.replace("LOCAL", issuer["url"]) for k, v in entry.items()})
    pubs = tmp / "publishers-bad.json"
    pubs.write_text(json.dumps([pub]))
    with pytest.raises(SystemExit) as e:
        frontmod.State(frontmod_args(frontmod, front, issuer, pubs))
    assert complaint in str(e.value)


def test_gitlab_integrity_publisher(front, issuer, dists, tmp, monkeypatch):
    """The Integrity API names a GitLab publisher as PyPI does (verification stubbed)."""
    import threading
    from http.server import ThreadingHTTPServer

    import front as frontmod

    pubs = tmp / "publishers-gl-inproc.json"
    pubs.write_text(json.dumps(PUBLISHERS))
    monkeypatch.setattr(frontmod.Handler, "state",
                        frontmod.State(frontmod_args(frontmod, front, issuer, pubs)), raising=False)
    monkeypatch.setattr(frontmod, "verify_upload_attestations",
                        lambda state, token, filename, content, raw: json.loads(raw))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), frontmod.Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{srv.server_address[1]}"
        env = {"INDEXFRONT_URL": base, "INDEXFRONT_UPLOAD_URL": base + "/legacy/"}
        whl = tmp / "attest_publish_sample-0.1.2-py3-none-any.whl"
        shutil.copy(dists["wheel"], whl)
        fake = [{"version": 1, "note": "stub"}]
        status, reason, body = raw_upload(env, mint_ok(env, issuer, kind="gitlab"), whl,
                                          attestations=json.dumps(fake))
        assert status == 200, (reason, body)
        req = urllib.request.Request(
            f"{base}/integrity/attest-publish-sample/0.1.0/{whl.name}/provenance",
            headers={"Accept": "application/vnd.pypi.integrity.v1+json"})
        with urllib.request.urlopen(req) as r:
            got = json.load(r)
        assert got == {"version": 1, "attestation_bundles": [{
            "publisher": {"kind": "GitLab", "repository": REPO,
                          "workflow_filepath": ".gitlab-ci.yml", "environment": None},
            "attestations": fake}]}
    finally:
        srv.shutdown()
        srv.server_close()
