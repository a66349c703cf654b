package ghinstance

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// The tests below build a real, signed TUF repository laid out as
// sigstore's repositories are (consistent snapshots: N.root.json,
// N.snapshot.json, N.targets.json, an unversioned timestamp.json and
// hash-prefixed targets/<sha256>.trusted_root.json), serve it on
// 127.0.0.1 and point fetchTrustedRoot at it. The target is the
// public-good trusted root (testdata/trusted_root.json, a copy of
// internal/verification/embedded/public-good-trusted_root.json).

// tufTarget is the target name sigstore-go's root.FetchTrustedRoot asks for.
const tufTarget = "trusted_root.json"

// tufRepo is a TUF repository on disk with one key per top-level role.
type tufRepo struct {
	t    *testing.T
	dir  string
	keys map[string]ed25519.PrivateKey

	root      *metadata.Metadata[metadata.RootType]
	targets   *metadata.Metadata[metadata.TargetsType]
	snapshot  *metadata.Metadata[metadata.SnapshotType]
	timestamp *metadata.Metadata[metadata.TimestampType]
}

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func tufKey(t *testing.T, priv ed25519.PrivateKey) *metadata.Key {
	t.Helper()
	k, err := metadata.KeyFromPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func tufKeyID(t *testing.T, priv ed25519.PrivateKey) string {
	t.Helper()
	id, err := tufKey(t, priv).ID()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func signer(t *testing.T, priv ed25519.PrivateKey) signature.Signer {
	t.Helper()
	s, err := signature.LoadSigner(priv, crypto.Hash(0))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// newTUFRepo creates version 1 of every role, with target as
// trusted_root.json, and writes it out signed.
func newTUFRepo(t *testing.T, target []byte) *tufRepo {
	t.Helper()
	r := &tufRepo{t: t, dir: t.TempDir(), keys: map[string]ed25519.PrivateKey{}}
	if err := os.Mkdir(filepath.Join(r.dir, "targets"), 0o755); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	r.root = metadata.Root(now.AddDate(1, 0, 0))
	if !r.root.Signed.ConsistentSnapshot {
		t.Fatal("go-tuf's new root metadata should default to consistent snapshots")
	}
	r.targets = metadata.Targets(now.AddDate(0, 3, 0))
	r.snapshot = metadata.Snapshot(now.AddDate(0, 0, 7))
	r.timestamp = metadata.Timestamp(now.AddDate(0, 0, 1))
	for _, role := range []string{metadata.ROOT, metadata.TARGETS, metadata.SNAPSHOT, metadata.TIMESTAMP} {
		r.keys[role] = newKey(t)
		if err := r.root.Signed.AddKey(tufKey(t, r.keys[role]), role); err != nil {
			t.Fatal(err)
		}
	}
	r.setTarget(target)
	r.signRoot(r.keys[metadata.ROOT])
	r.publish()
	return r
}

// setTarget writes target under its hash-prefixed name and lists it in
// targets metadata (not yet signed).
func (r *tufRepo) setTarget(target []byte) {
	r.t.Helper()
	tf, err := metadata.TargetFile().FromBytes(tufTarget, target, "sha256")
	if err != nil {
		r.t.Fatal(err)
	}
	r.targets.Signed.Targets[tufTarget] = tf
	sum := sha256.Sum256(target)
	r.writeFile(filepath.Join("targets", hex.EncodeToString(sum[:])+"."+tufTarget), target)
}

// signRoot signs the current root metadata with keys (replacing any
// earlier signatures) and writes it as <version>.root.json.
func (r *tufRepo) signRoot(keys ...ed25519.PrivateKey) {
	r.t.Helper()
	r.root.ClearSignatures()
	for _, k := range keys {
		if _, err := r.root.Sign(signer(r.t, k)); err != nil {
			r.t.Fatal(err)
		}
	}
	b, err := r.root.ToBytes(true)
	if err != nil {
		r.t.Fatal(err)
	}
	r.writeFile(fmt.Sprintf("%d.root.json", r.root.Signed.Version), b)
}

// publish signs targets, snapshot and timestamp with the role keys and
// writes them, snapshot and timestamp pointing at the current versions.
func (r *tufRepo) publish() {
	r.t.Helper()
	r.snapshot.Signed.Meta["targets.json"] = metadata.MetaFile(r.targets.Signed.Version)
	r.timestamp.Signed.Meta["snapshot.json"] = metadata.MetaFile(r.snapshot.Signed.Version)

	r.targets.ClearSignatures()
	if _, err := r.targets.Sign(signer(r.t, r.keys[metadata.TARGETS])); err != nil {
		r.t.Fatal(err)
	}
	r.snapshot.ClearSignatures()
	if _, err := r.snapshot.Sign(signer(r.t, r.keys[metadata.SNAPSHOT])); err != nil {
		r.t.Fatal(err)
	}
	r.timestamp.ClearSignatures()
	if _, err := r.timestamp.Sign(signer(r.t, r.keys[metadata.TIMESTAMP])); err != nil {
		r.t.Fatal(err)
	}
	for name, m := range map[string]interface{ ToBytes(bool) ([]byte, error) }{
		fmt.Sprintf("%d.targets.json", r.targets.Signed.Version):   r.targets,
		fmt.Sprintf("%d.snapshot.json", r.snapshot.Signed.Version): r.snapshot,
		"timestamp.json": r.timestamp,
	} {
		b, err := m.ToBytes(true)
		if err != nil {
			r.t.Fatal(err)
		}
		r.writeFile(name, b)
	}
}

func (r *tufRepo) writeFile(name string, b []byte) {
	r.t.Helper()
	if err := os.WriteFile(filepath.Join(r.dir, name), b, 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *tufRepo) readFile(name string) []byte {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, name))
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

// serve serves the repository on 127.0.0.1 (missing files are 404, which
// ends the client's search for a newer root) and returns GitHub's TUF
// options pointed at it, trusting 1.root.json, with a fresh cache.
func (r *tufRepo) serve() *tuf.Options {
	r.t.Helper()
	srv := httptest.NewServer(http.FileServer(http.Dir(r.dir)))
	r.t.Cleanup(srv.Close)
	opts := TUFOptions()
	opts.Root = r.readFile("1.root.json")
	opts.RepositoryBaseURL = srv.URL
	opts.CachePath = r.t.TempDir()
	return opts
}

func readTestTrustedRoot(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "trusted_root.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkSameRoot checks that got is the trusted root want parses to.
func checkSameRoot(t *testing.T, got *root.TrustedRoot, want []byte) {
	t.Helper()
	wantTR, err := root.NewTrustedRootFromJSON(want)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := len(got.FulcioCertificateAuthorities()), len(wantTR.FulcioCertificateAuthorities()); g != w || g == 0 {
		t.Errorf("fetched root has %d Fulcio CAs, want %d (> 0)", g, w)
	}
	if g, w := len(got.RekorLogs()), len(wantTR.RekorLogs()); g != w || g == 0 {
		t.Errorf("fetched root has %d Rekor logs, want %d (> 0)", g, w)
	}
	if g, w := len(got.TimestampingAuthorities()), len(wantTR.TimestampingAuthorities()); g != w {
		t.Errorf("fetched root has %d TSAs, want %d", g, w)
	}
	gotJSON, err := got.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, err := wantTR.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Error("fetched trusted root re-marshals differently from testdata/trusted_root.json")
	}
}

// wantTUFError checks that err is a go-tuf error of type E whose text
// contains substr.
func wantTUFError[E error](t *testing.T, err error, substr string) {
	t.Helper()
	if err == nil {
		t.Fatalf("fetchTrustedRoot succeeded, want an error containing %q", substr)
	}
	t.Logf("fetchTrustedRoot: %v", err)
	var target E
	if !errors.As(err, &target) {
		t.Errorf("error %q is not a %T", err, target)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Errorf("error %q does not contain %q", err, substr)
	}
	if !strings.Contains(err.Error(), "fetching GitHub's Sigstore trusted root from http://127.0.0.1:") {
		t.Errorf("error %q does not name the repository it was fetched from", err)
	}
}

func TestFetchTrustedRootOverTUF(t *testing.T) {
	want := readTestTrustedRoot(t)
	r := newTUFRepo(t, want)
	opts := r.serve()
	tr, err := fetchTrustedRoot(opts)
	if err != nil {
		t.Fatal(err)
	}
	checkSameRoot(t, tr, want)

	// sigstore-go caches the metadata and the target under
	// <CachePath>/<URL as a file name>.
	cache := filepath.Join(opts.CachePath, tuf.URLToPath(opts.RepositoryBaseURL))
	for _, f := range []string{"root.json", "timestamp.json", "snapshot.json", "targets.json", filepath.Join("targets", tufTarget)} {
		if _, err := os.Stat(filepath.Join(cache, f)); err != nil {
			t.Errorf("TUF cache: %v", err)
		}
	}

	// A second fetch with the same cache still goes to the repository
	// (CacheValidity is 0), so it sees a newly published target.
	tr2JSON := bytes.Replace(want, []byte(`"mediaType"`), []byte(`"mediaType" `), 1)
	if bytes.Equal(tr2JSON, want) {
		t.Fatal("could not vary the trusted root")
	}
	r.setTarget(tr2JSON)
	r.targets.Signed.Version++
	r.snapshot.Signed.Version++
	r.timestamp.Signed.Version++
	r.publish()
	if _, err := fetchTrustedRoot(opts); err != nil {
		t.Fatalf("second fetch: %v", err)
	}
	cached, err := os.ReadFile(filepath.Join(cache, "targets", tufTarget))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cached, tr2JSON) {
		t.Error("second fetch did not replace the cached target with the new one")
	}
}

func TestFetchTrustedRootTamperedTarget(t *testing.T) {
	target := readTestTrustedRoot(t)
	r := newTUFRepo(t, target)
	// Change the served bytes after signing, keeping the length, so only
	// the hash can catch it.
	sum := sha256.Sum256(target)
	name := filepath.Join("targets", hex.EncodeToString(sum[:])+"."+tufTarget)
	tampered := bytes.Replace(target, []byte("https://"), []byte("http://x"), 1)
	if len(tampered) != len(target) || bytes.Equal(tampered, target) {
		t.Fatal("could not tamper with the target keeping its length")
	}
	r.writeFile(name, tampered)
	_, err := fetchTrustedRoot(r.serve())
	wantTUFError[*metadata.ErrLengthOrHashMismatch](t, err, "hash verification failed - mismatch for algorithm sha256")
}

func TestFetchTrustedRootExpiredTimestamp(t *testing.T) {
	r := newTUFRepo(t, readTestTrustedRoot(t))
	r.timestamp.Signed.Expires = time.Now().UTC().Add(-time.Hour)
	r.timestamp.Signed.Version++
	r.publish()
	_, err := fetchTrustedRoot(r.serve())
	wantTUFError[*metadata.ErrExpiredMetadata](t, err, "timestamp.json is expired")
}

func TestFetchTrustedRootUntrustedRootKey(t *testing.T) {
	r := newTUFRepo(t, readTestTrustedRoot(t))
	// An attacker publishes 2.root.json naming its own root key and signed
	// only by it: 1.root.json does not list that key, so the client must
	// not move to version 2.
	rogue := newKey(t)
	oldID := tufKeyID(t, r.keys[metadata.ROOT])
	if err := r.root.Signed.RevokeKey(oldID, metadata.ROOT); err != nil {
		t.Fatal(err)
	}
	if err := r.root.Signed.AddKey(tufKey(t, rogue), metadata.ROOT); err != nil {
		t.Fatal(err)
	}
	r.root.Signed.Version = 2
	r.signRoot(rogue)
	_, err := fetchTrustedRoot(r.serve())
	wantTUFError[*metadata.ErrUnsignedMetadata](t, err, "Verifying root failed, not enough signatures, got 0, want 1")
}

func TestFetchTrustedRootUntrustedTimestampKey(t *testing.T) {
	r := newTUFRepo(t, readTestTrustedRoot(t))
	// Timestamp metadata signed by a key the root does not list.
	r.keys[metadata.TIMESTAMP] = newKey(t)
	r.timestamp.Signed.Version++
	r.publish()
	_, err := fetchTrustedRoot(r.serve())
	wantTUFError[*metadata.ErrUnsignedMetadata](t, err, "Verifying timestamp failed, not enough signatures, got 0, want 1")
}

func TestFetchTrustedRootRotation(t *testing.T) {
	want := readTestTrustedRoot(t)
	r := newTUFRepo(t, want)
	opts := r.serve() // trusts 1.root.json

	// Version 2 of the root replaces the root and timestamp keys; it is
	// signed by the old root key (threshold of version 1) and the new one
	// (threshold of version 2). Timestamp metadata is then signed only by
	// the new timestamp key, which the client can accept only by
	// following the rotation.
	oldRoot := r.keys[metadata.ROOT]
	newRoot, newTS := newKey(t), newKey(t)
	for role, keys := range map[string][2]ed25519.PrivateKey{
		metadata.ROOT:      {oldRoot, newRoot},
		metadata.TIMESTAMP: {r.keys[metadata.TIMESTAMP], newTS},
	} {
		if err := r.root.Signed.RevokeKey(tufKeyID(t, keys[0]), role); err != nil {
			t.Fatal(err)
		}
		if err := r.root.Signed.AddKey(tufKey(t, keys[1]), role); err != nil {
			t.Fatal(err)
		}
	}
	r.keys[metadata.ROOT], r.keys[metadata.TIMESTAMP] = newRoot, newTS
	r.root.Signed.Version = 2
	r.signRoot(oldRoot, newRoot)
	r.timestamp.Signed.Version++
	r.publish()

	tr, err := fetchTrustedRoot(opts)
	if err != nil {
		t.Fatal(err)
	}
	checkSameRoot(t, tr, want)

	cached, err := os.ReadFile(filepath.Join(opts.CachePath, tuf.URLToPath(opts.RepositoryBaseURL), "root.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Signed struct {
			Version int64 `json:"version"`
		} `json:"signed"`
	}
	if err := json.Unmarshal(cached, &v); err != nil {
		t.Fatal(err)
	}
	if v.Signed.Version != 2 {
		t.Errorf("cached root.json is version %d, want 2", v.Signed.Version)
	}

	// Without the old root key's signature, version 2 must be refused.
	r.signRoot(newRoot)
	opts.CachePath = t.TempDir()
	_, err = fetchTrustedRoot(opts)
	wantTUFError[*metadata.ErrUnsignedMetadata](t, err, "Verifying root failed, not enough signatures, got 0, want 1")
}
