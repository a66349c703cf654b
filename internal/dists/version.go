package dists

import (
	"regexp"
	"strconv"
	"strings"
)

// pep440 is the version grammar of PEP 440 (Appendix B), matched case-insensitively.
var pep440 = regexp.MustCompile(`(?i)^v?` +
	`(?:(?P<epoch>[0-9]+)!)?` +
	`(?P<release>[0-9]+(?:\.[0-9]+)*)` +
	`(?P<pre>[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?` +
	`(?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?` +
	`(?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?` +
	`(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?$`)

// NormalizeVersion returns the PEP 440 normal form of v (for example
// "1.0-Alpha.1" becomes "1.0a1"), or false when v is not a valid version.
func NormalizeVersion(v string) (string, bool) {
	m := pep440.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return "", false
	}
	g := func(name string) string { return m[pep440.SubexpIndex(name)] }
	var b strings.Builder
	if e := g("epoch"); e != "" && trimInt(e) != "0" {
		b.WriteString(trimInt(e) + "!")
	}
	parts := strings.Split(g("release"), ".")
	for i, p := range parts {
		parts[i] = trimInt(p)
	}
	b.WriteString(strings.Join(parts, "."))
	if g("pre") != "" {
		label := strings.ToLower(g("pre_l"))
		switch label {
		case "alpha":
			label = "a"
		case "beta":
			label = "b"
		case "c", "pre", "preview":
			label = "rc"
		}
		b.WriteString(label + trimInt(orZero(g("pre_n"))))
	}
	if g("post") != "" {
		n := g("post_n1")
		if n == "" {
			n = g("post_n2")
		}
		b.WriteString(".post" + trimInt(orZero(n)))
	}
	if g("dev") != "" {
		b.WriteString(".dev" + trimInt(orZero(g("dev_n"))))
	}
	if l := g("local"); l != "" {
		b.WriteString("+" + strings.ToLower(strings.NewReplacer("-", ".", "_", ".").Replace(l)))
	}
	return b.String(), true
}

// sameVersion reports whether two normalized versions compare equal under
// PEP 440, where trailing zeros of the release segment do not count
// ("1.0" == "1.0.0").
func sameVersion(a, b string) bool {
	return comparable440(a) == comparable440(b)
}

var releasePrefix = regexp.MustCompile(`^(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*`)

func comparable440(v string) string {
	release := releasePrefix.FindString(v)
	parts := strings.Split(release, ".")
	for len(parts) > 1 && parts[len(parts)-1] == "0" {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, ".") + v[len(release):]
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// trimInt drops leading zeros from a run of digits ("007" → "7").
func trimInt(s string) string {
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return strconv.FormatUint(n, 10)
	}
	t := strings.TrimLeft(s, "0")
	if t == "" {
		return "0"
	}
	return t
}
