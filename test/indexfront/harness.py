#!/usr/bin/env python3
"""Start/stop a real pypiserver plus the trusted-publishing front (test code).

Exact commands (run with the project venv, from the repository root)::

    VENV=.cache/venv
    $VENV/bin/python test/indexfront/harness.py start --dir "$DIR" \\
        --issuer http://127.0.0.1:8090 --trusted-root "$STACK_DIR/trusted_root.json" \\
        --publishers publishers.json [--audience pypi] [--fail-after N] [--front-port P] \\
        [--gitlab-issuer URL] [--disallow-oidc github|gitlab ...]
    source "$DIR/indexfront.env"     # INDEXFRONT_URL, INDEXFRONT_UPLOAD_URL, ...
    ...
    $VENV/bin/python test/indexfront/harness.py stop --dir "$DIR"

``start`` returns once both servers answer; it exits non-zero (and stops what it
started) otherwise. Without ``--publishers`` a default one is written with two
publishers of project ``attest-publish-sample``, both matching test/oidcissuer's default
tokens: GitHub ``octo-org/octo-repo``, owner ``octo-org``, owner id ``9919``, workflow
``release.yml``; and GitLab (``kind=gitlab`` tokens) project path ``octo-org/octo-repo``,
top-level pipeline file ``.gitlab-ci.yml`` on https://gitlab.com. Neither has an
environment. ``--gitlab-issuer`` and ``--disallow-oidc`` are passed to front.py.

``$DIR/indexfront.env`` (shell syntax, also easy to parse from Go: KEY=VALUE lines,
values never quoted)::

    INDEXFRONT_URL=http://127.0.0.1:P            # repository base (audience, mint-token)
    INDEXFRONT_UPLOAD_URL=http://127.0.0.1:P/legacy/
    INDEXFRONT_SIMPLE_URL=http://127.0.0.1:P/simple/
    INDEXFRONT_UPSTREAM_URL=http://127.0.0.1:U   # pypiserver itself
    INDEXFRONT_UPSTREAM_USER=uploader            # its htpasswd user (test-only)
    INDEXFRONT_UPSTREAM_PASSWORD=<random>
    INDEXFRONT_PACKAGES_DIR=$DIR/packages
    INDEXFRONT_PYPISERVER_PID=<pid>
    INDEXFRONT_FRONT_PID=<pid>

Logs: ``$DIR/pypiserver.log`` and ``$DIR/front.log``. Python callers can use
``Harness`` (a context manager) directly, as test_front.py does.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENV_FILE = "indexfront.env"

DEFAULT_PUBLISHERS = [
    {
        "project": "attest-publish-sample",
        "kind": "github",
        "repository": "octo-org/octo-repo",
        "repository_owner": "octo-org",
        "repository_owner_id": "9919",
        "workflow": "release.yml",
        "environment": None,
    },
    {
        "project": "attest-publish-sample",
        "kind": "gitlab",
        "project_path": "octo-org/octo-repo",
        "workflow_filepath": ".gitlab-ci.yml",
        "environment": None,
        "issuer": "https://gitlab.com",
    },
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up within {timeout}s")


def write_htpasswd(path: Path, user: str, password: str) -> None:
    import warnings

    with warnings.catch_warnings():  # passlib 1.7.4 imports the deprecated `crypt`
        warnings.simplefilter("ignore", DeprecationWarning)
        from passlib.apache import HtpasswdFile

    ht = HtpasswdFile(str(path), new=True, default_scheme="sha256_crypt")
    ht.set_password(user, password)
    ht.save()


class Harness:
    def __init__(self, workdir: str | Path, issuer: str, publishers: str | Path | None = None,
                 trusted_root: str | Path | None = None, audience: str = "pypi",
                 fail_after: int | None = None, front_port: int = 0,
                 python: str = sys.executable, front_args: list[str] | None = None) -> None:
        self.dir = Path(workdir).resolve()
        self.issuer = issuer
        self.publishers = publishers
        self.trusted_root = trusted_root
        self.audience = audience
        self.fail_after = fail_after
        self.front_port = front_port
        self.python = python
        self.front_args = list(front_args or [])
        self.procs: list[subprocess.Popen] = []
        self.env: dict[str, str] = {}
        self.upstream_auth = ""

    def start(self) -> dict[str, str]:
        d = self.dir
        (d / "packages").mkdir(parents=True, exist_ok=True)
        user, password = "uploader", secrets.token_urlsafe(16)
        write_htpasswd(d / "htpasswd", user, password)
        self.upstream_auth = f"{user}:{password}"
        if self.publishers is None:
            self.publishers = d / "publishers.json"
            Path(self.publishers).write_text(json.dumps(DEFAULT_PUBLISHERS, indent=2))
        uport = free_port()
        fport = self.front_port or free_port()
        bindir = Path(self.python).parent
        pypi_server = bindir / "pypi-server"
        cmd = [str(pypi_server), "run", "-i", "127.0.0.1", "-p", str(uport),
               "-a", "update", "-P", str(d / "htpasswd"), "--disable-fallback",
               "--hash-algo", "sha256", "--backend", "simple-dir", "--log-stream", "stderr",
               str(d / "packages")]
        try:
            self._spawn(cmd, d / "pypiserver.log")
            upstream = f"http://127.0.0.1:{uport}"
            wait_http(upstream + "/simple/", self.procs[-1])
            cmd = [self.python, str(HERE / "front.py"), "--listen", f"127.0.0.1:{fport}",
                   "--upstream", upstream, "--upstream-auth", f"{user}:{password}",
                   "--issuer", self.issuer, "--publishers", str(self.publishers),
                   "--audience", self.audience]
            if self.trusted_root:
                cmd += ["--trusted-root", str(self.trusted_root)]
            if self.fail_after is not None:
                cmd += ["--fail-after", str(self.fail_after)]
            cmd += self.front_args
            self._spawn(cmd, d / "front.log")
            front = f"http://127.0.0.1:{fport}"
            wait_http(front + "/_/oidc/audience", self.procs[-1])
        except BaseException:
            self.stop()
            raise
        self.env = {
            "INDEXFRONT_URL": front,
            "INDEXFRONT_UPLOAD_URL": front + "/legacy/",
            "INDEXFRONT_SIMPLE_URL": front + "/simple/",
            "INDEXFRONT_UPSTREAM_URL": upstream,
            # pypiserver's own htpasswd user (test-only), for password-mode uploads
            "INDEXFRONT_UPSTREAM_USER": user,
            "INDEXFRONT_UPSTREAM_PASSWORD": password,
            "INDEXFRONT_PACKAGES_DIR": str(d / "packages"),
            "INDEXFRONT_PYPISERVER_PID": str(self.procs[0].pid),
            "INDEXFRONT_FRONT_PID": str(self.procs[1].pid),
        }
        (d / ENV_FILE).write_text("".join(f"{k}={v}\n" for k, v in self.env.items()))
        return self.env

    def _spawn(self, cmd: list[str], log: Path) -> None:
        f = open(log, "ab")
        try:
            self.procs.append(subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT,
                                               stdin=subprocess.DEVNULL,
                                               start_new_session=True))
        finally:
            f.close()

    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs.clear()

    def __enter__(self) -> "Harness":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stop_dir(d: Path) -> int:
    envf = d / ENV_FILE
    if not envf.exists():
        print(f"no {envf}", file=sys.stderr)
        return 1
    pids = []
    for line in envf.read_text().splitlines():
        k, _, v = line.partition("=")
        if k in ("INDEXFRONT_FRONT_PID", "INDEXFRONT_PYPISERVER_PID"):
            pids.append(int(v))
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for pid in pids:
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    envf.unlink()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="pypiserver + trusted-publishing front")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start")
    s.add_argument("--dir", required=True)
    s.add_argument("--issuer", required=True)
    s.add_argument("--publishers")
    s.add_argument("--trusted-root")
    s.add_argument("--audience", default="pypi")
    s.add_argument("--fail-after", type=int)
    s.add_argument("--front-port", type=int, default=0)
    s.add_argument("--gitlab-issuer")
    s.add_argument("--disallow-oidc", action="append", choices=["github", "gitlab"], default=[])
    t = sub.add_parser("stop")
    t.add_argument("--dir", required=True)
    args = ap.parse_args(argv)
    if args.cmd == "stop":
        return stop_dir(Path(args.dir))
    front_args = ["--gitlab-issuer", args.gitlab_issuer] if args.gitlab_issuer else []
    for service in args.disallow_oidc:
        front_args += ["--disallow-oidc", service]
    h = Harness(args.dir, args.issuer, args.publishers, args.trusted_root, args.audience,
                args.fail_after, args.front_port, front_args=front_args)
    env = h.start()
    # Detach: the servers keep running after this process exits (own sessions).
    for p in h.procs:
        p.returncode = 0  # keep Popen.__del__ quiet; `stop` ends them by pid
    for k, v in env.items():
        print(f"{k}={v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
