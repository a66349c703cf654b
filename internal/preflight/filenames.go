package preflight

import (
	"fmt"
	"strings"

	"github.com/attest-publish/attest-publish/internal/dists"
)

// checkFilenames compares each dist's filename with the one PyPI expects
// (warehouse/forklift/legacy.py, 2026-08):
//
//   - a wheel's name part must be the normalised project name with "_"
//     (lowercase, runs of "-_." as one "_"), or PyPI refuses it; its version
//     is compared parsed, so a version not in normal form is accepted, though
//     the binary distribution format asks for it and uv publish (0.12+)
//     skips such files: a warning;
//   - an sdist must be exactly {normalised name with "_"}-{normal version}.tar.gz
//     (PEP 625), or PyPI refuses it; a .zip sdist included.
//
// For another index PyPI's refusals become warnings.
func checkFilenames(o *Options, ds []parsedDist) []Finding {
	var out []Finding
	refused := Error
	if !o.PyPI {
		refused = Warning
	}
	for _, d := range ds {
		wantName := strings.ReplaceAll(d.name.CanonicalName(), "-", "_")
		switch d.name.Kind {
		case dists.Wheel:
			stem := strings.TrimSuffix(d.Filename, ".whl")
			parts := strings.SplitN(stem, "-", 3)
			if len(parts) != 3 {
				continue
			}
			name, version, rest := parts[0], parts[1], parts[2]
			want := wantName + "-" + d.version + "-" + rest + ".whl"
			fix := fmt.Sprintf(`Rebuild the wheel with an up-to-date build backend, which names it %q. Renaming the file is enough only if the wheel's .dist-info directory is already %q: PyPI opens <name>-<version>.dist-info/ by the name and version in the filename.`,
				want, wantName+"-"+d.version+".dist-info")
			switch {
			case name != wantName:
				msg := fmt.Sprintf(`the wheel's name part %q is not the normalised project name %q, so PyPI refuses it ("Filename '%s' should contain the normalized project name '%s', not '%s'.").`,
					name, wantName, d.Filename, wantName, name)
				if !o.PyPI {
					msg = fmt.Sprintf(`the wheel's name part %q is not the normalised project name %q that the binary distribution format requires: PyPI would refuse it, and uv publish skips it.`, name, wantName)
				}
				out = append(out, Finding{Check: CheckFilenameNormalisation, Severity: refused, File: d.Filename, Message: msg, Fix: fix})
			case version != d.version:
				out = append(out, Finding{
					Check:    CheckFilenameNormalisation,
					Severity: Warning,
					File:     d.Filename,
					Message: fmt.Sprintf(`the wheel's version %q is not in normal form (%q): PyPI accepts it, since it compares versions parsed, but the binary distribution format requires the normal form and uv publish (0.12+) skips such files.`,
						version, d.version),
					Fix: fix,
				})
			}
		case dists.Sdist:
			want := wantName + "-" + d.version + ".tar.gz"
			if d.Filename == want {
				continue
			}
			msg := fmt.Sprintf(`the sdist is not named %q as PEP 625 requires (normalised project name, normal version, .tar.gz), so PyPI refuses it ("Filename '%s' is invalid, should be '%s'.").`,
				want, d.Filename, want)
			if !o.PyPI {
				msg = fmt.Sprintf(`the sdist is not named %q as PEP 625 requires (normalised project name, normal version, .tar.gz): PyPI would refuse it.`, want)
			}
			fix := fmt.Sprintf(`Rename it to %q (PyPI reads PKG-INFO from the archive's top-level directory, whatever the file is called), or rebuild it with an up-to-date build backend, which names sdists per PEP 625.`, want)
			if !strings.HasSuffix(d.Filename, ".tar.gz") {
				fix = fmt.Sprintf(`Rebuild the sdist as a gzipped tarball (python -m build --sdist), named %q: PEP 625 sdists are .tar.gz only, and renaming a zip does not make it one.`, want)
			}
			out = append(out, Finding{Check: CheckFilenameNormalisation, Severity: refused, File: d.Filename, Message: msg, Fix: fix})
		}
	}
	return out
}
