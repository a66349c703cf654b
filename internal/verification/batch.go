package verification

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	"github.com/attest-publish/attest-publish/internal/dists"
)

// The sidecar files FindBatch looks for next to each dist.
var (
	// bundleSuffixes name Sigstore bundles.
	bundleSuffixes = []string{dists.BundleSuffix}
	// attestationSuffixes name PEP 740 attestations.
	attestationSuffixes = []string{dists.PublishAttestationSuffix, dists.SLSAAttestationSuffix}
)

// BatchItem is one dist of a directory with the material found next to it.
type BatchItem struct {
	// Artifact is the dist, hashed.
	Artifact Artifact
	// Bundles and Attestations are the sidecar files that exist.
	Bundles, Attestations []string
	// Signature and Certificate are the detached pair <dist>.sig and
	// <dist>.crt when either exists ("" for the one that does not).
	Signature, Certificate string
}

// FindBatch lists the dists directly in dir (with dists.Find: valid names,
// regular files, one release) and the sidecar files next to each.
func FindBatch(dir string) ([]BatchItem, error) {
	ds, err := dists.Find(dir)
	if err != nil {
		return nil, err
	}
	return BatchOf(ds), nil
}

// BatchOf pairs dists already found and hashed with the sidecar files next
// to each (no file is read again).
func BatchOf(ds []*dists.Dist) []BatchItem {
	items := make([]BatchItem, 0, len(ds))
	for _, d := range ds {
		it := BatchItem{Artifact: Artifact{Name: d.Path, Path: d.Path, SHA256: d.SHA256, Filename: d.Filename, Size: SizeOf(d.Size)}}
		for _, s := range bundleSuffixes {
			if exists(d.Path + s) {
				it.Bundles = append(it.Bundles, d.Path+s)
			}
		}
		for _, s := range attestationSuffixes {
			if exists(d.Path + s) {
				it.Attestations = append(it.Attestations, d.Path+s)
			}
		}
		if exists(d.Path + DetachedSignatureSuffix) {
			it.Signature = d.Path + DetachedSignatureSuffix
		}
		if exists(d.Path + DetachedCertificateSuffix) {
			it.Certificate = d.Path + DetachedCertificateSuffix
		}
		items = append(items, it)
	}
	return items
}

// exists reports whether path names anything, a dangling symlink included.
func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// LoadMaterial reads bundle and attestation files into material sets.
func LoadMaterial(bundles, attestations []string) ([]*MaterialSet, error) {
	var sets []*MaterialSet
	for _, p := range bundles {
		s, err := LoadBundles(p)
		if err != nil {
			return nil, fmt.Errorf("bundle: %w", err)
		}
		sets = append(sets, s)
	}
	for _, p := range attestations {
		s, err := LoadAttestations(p)
		if err != nil {
			return nil, fmt.Errorf("attestation: %w", err)
		}
		sets = append(sets, s)
	}
	return sets, nil
}

// VerifyItem verifies a dist against every sidecar found next to it; each
// must satisfy the policy, and a dist with none fails.
func (c *Checker) VerifyItem(it BatchItem) Result {
	if len(it.Bundles)+len(it.Attestations) == 0 {
		return FailedResult(it.Artifact, CheckMaterial, fmt.Errorf("no bundle or attestation next to it (looked for %s + %s)", it.Artifact.Filename, strings.Join(append(slices.Clone(bundleSuffixes), attestationSuffixes...), ", ")))
	}
	sets, err := LoadMaterial(it.Bundles, it.Attestations)
	if err != nil {
		return FailedResult(it.Artifact, CheckMaterial, err)
	}
	if it.Signature != "" || it.Certificate != "" {
		pair, err := it.detached()
		if err != nil {
			return FailedResult(it.Artifact, CheckMaterial, err)
		}
		sets = append(sets, pair)
	}
	return c.Verify(it.Artifact, sets)
}

// batchGCPercent is the garbage collector's target while a batch runs.
// Verification allocates a lot of short-lived garbage (protobuf JSON, Rekor
// entries, certificates) over a small live heap, so the default of 100 spends
// about a third of a 1,000-bundle batch's CPU collecting; at 400 the heap
// may grow to five times the live data, a few MiB here.
const batchGCPercent = 400

// RunConcurrently calls job(0) … job(n-1) on up to workers goroutines
// (GOMAXPROCS when workers < 1) and returns the results in index order.
// While it runs, the garbage collector's target is raised to batchGCPercent
// (unless GOGC was set), and restored afterwards.
func RunConcurrently(n, workers int, job func(i int) Result) []Result {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	if n > 1 && os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(batchGCPercent))
	}
	workers = min(workers, n)
	results := make([]Result, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = job(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// detached loads the item's detached pair with the bundle next to it.
func (it BatchItem) detached() (*MaterialSet, error) {
	switch {
	case it.Signature == "":
		return nil, fmt.Errorf("%s has no %s next to it: a detached certificate goes with its signature", it.Certificate, DetachedSignatureSuffix)
	case it.Certificate == "":
		return nil, fmt.Errorf("%s has no %s next to it: a detached signature is verified with its certificate", it.Signature, DetachedCertificateSuffix)
	case len(it.Bundles) == 0:
		return nil, fmt.Errorf("%s and %s need the bundle they were made from next to them (%s%s: its log entry and time); cosign verify-blob looks a lone pair up in Rekor online", it.Signature, it.Certificate, it.Artifact.Filename, dists.BundleSuffix)
	}
	return LoadDetached(it.Signature, it.Certificate, it.Bundles[0])
}
