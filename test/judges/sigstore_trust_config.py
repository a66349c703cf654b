#!/usr/bin/env python3
"""Make a sigstore-python ClientTrustConfig from a trusted_root.json (+ signing_config.json).

sigstore-python 4.x has no ``--trusted-root`` flag. Its only way to use a custom
Sigstore instance without TUF is a *client trust config*
(``application/vnd.dev.sigstore.clienttrustconfig.v0.1+json``): one JSON object
holding a ``trustedRoot`` and a ``signingConfig``, given with the global
``--trust-config`` option, which must come *before* the subcommand::

    python sigstore_trust_config.py --trusted-root trusted_root.json \\
        [--signing-config signing_config.json] --out trust_config.json

    python -m sigstore --trust-config trust_config.json verify identity \\
        --offline --bundle DIST.sigstore.json \\
        --cert-identity https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main \\
        --cert-oidc-issuer http://127.0.0.1:8090 \\
        DIST

Offline guarantee (sigstore 4.5.1, ``sigstore/_cli.py::_get_trust_config``): when
``--trust-config`` is given the file is parsed with ``ClientTrustConfig.from_json``
and TUF is never consulted; ``verify`` then builds
``Verifier(trusted_root=trust_config.trusted_root)``, which only *constructs* a Rekor
client from the root's first tlog URL. With ``--bundle`` no request is made (only the
detached ``--certificate``/``--signature`` mode queries Rekor). ``--offline`` is
harmless here and documents the intent.

``verify identity`` checks, for a message-signature bundle: chain to the root's
Fulcio CA at the verified time (Rekor v1 integrated time with SET, and/or RFC 3161
timestamps), at least one SCT from the root's CT logs, inclusion proof + signed
checkpoint, signature over the file's sha256, the hashedrekord body, then the exact
SAN and the issuer extension. The SAN is matched exactly (no regex).

``signingConfig`` is mandatory in the file format but unused by ``verify``. Without
``--signing-config`` an empty, verify-only ``signingconfig.v0.2`` is written (signing
with that trust config would fail with "No valid Rekor transparency log found").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

CLIENT_TRUST_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"
SIGNING_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.signingconfig.v0.2+json"


def build(trusted_root: dict[str, Any], signing_config: dict[str, Any] | None) -> dict[str, Any]:
    """The ClientTrustConfig JSON object (protobuf-JSON camelCase field names)."""
    return {
        "mediaType": CLIENT_TRUST_CONFIG_MEDIA_TYPE,
        "trustedRoot": trusted_root,
        "signingConfig": signing_config or {"mediaType": SIGNING_CONFIG_MEDIA_TYPE},
    }


def check(raw: str, *, signing: bool) -> None:
    """Parse the result with sigstore-python itself, as ``--trust-config`` will.

    sigstore-python's models are strict (pydantic ``strict=True, extra="forbid"``):
    the trusted root must have ``tlogs``, ``certificateAuthorities`` *and* ``ctlogs``
    (even if empty), every CA ``subject`` needs both ``organization`` and
    ``commonName``, and no unknown fields are allowed. A root that fails here would
    fail the same way inside ``python -m sigstore --trust-config``; it is an error.
    The signing config is not used for verification, so problems with it are only
    reported as a warning.
    """
    from sigstore.models import ClientTrustConfig

    cfg = ClientTrustConfig.from_json(raw)
    root = cfg.trusted_root
    root.get_fulcio_certs()  # raises if the root has no Fulcio CA
    if signing:
        try:
            cfg.signing_config  # noqa: B018 - validates services, URLs, selectors
        except Exception as e:  # noqa: BLE001
            print(
                f"sigstore_trust_config: warning: signing config unusable for signing "
                f"(verification is unaffected): {type(e).__name__}: {e}",
                file=sys.stderr,
            )


def write(
    trusted_root: str | Path, out: str | Path, signing_config: str | Path | None = None
) -> Path:
    tr = json.loads(Path(trusted_root).read_text())
    sc = json.loads(Path(signing_config).read_text()) if signing_config else None
    raw = json.dumps(build(tr, sc), indent=2) + "\n"
    check(raw, signing=sc is not None)
    out = Path(out)
    out.write_text(raw)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trusted-root", required=True, help="Sigstore trusted_root.json")
    ap.add_argument("--signing-config", help="signing_config.json (v0.2); optional for verify-only use")
    ap.add_argument("--out", required=True, help="where to write the client trust config")
    args = ap.parse_args(argv)
    try:
        write(args.trusted_root, args.out, args.signing_config)
    except Exception as e:  # noqa: BLE001
        print(f"sigstore_trust_config: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
