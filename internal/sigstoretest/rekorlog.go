package sigstoretest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
)

// rekorTreeID is the fake log's (single, active) tree ID.
const rekorTreeID int64 = 0x5167_5e57

// rekorLog is an append-only RFC 6962 Merkle log with Rekor v1's signed
// entry timestamps and checkpoints.
type rekorLog struct {
	signer   signature.SignerVerifier
	logID    []byte // SHA-256 of the PKIX public key
	hostname string // checkpoint origin is "<hostname> - <tree ID>"

	mu      sync.Mutex
	tree    *testonly.Tree
	entries []loggedEntry
	byLeaf  map[string]int64 // hex leaf hash → log index
}

// loggedEntry is an entry as stored: its fields minus the inclusion proof,
// which depends on the tree size when asked.
type loggedEntry struct {
	entryID string
	anon    models.LogEntryAnon
	set     []byte
}

// newRekorLog starts an empty log signed by key, serving at baseURL.
func newRekorLog(key *ecdsa.PrivateKey, baseURL string) (*rekorLog, error) {
	signer, err := signature.LoadECDSASignerVerifier(key, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("loading Rekor signer: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return nil, fmt.Errorf("marshalling Rekor public key: %w", err)
	}
	logID := sha256.Sum256(der)
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("parsing Rekor URL: %w", err)
	}
	return &rekorLog{
		signer:   signer,
		logID:    logID[:],
		hostname: u.Hostname(),
		tree:     testonly.New(rfc6962.DefaultHasher),
		byLeaf:   map[string]int64{},
	}, nil
}

// add appends a canonicalized entry body, signing its entry timestamp as
// Rekor does. When an identical body is already logged it returns that
// entry's ID and existed=true.
func (l *rekorLog) add(ctx context.Context, body []byte) (entryID string, existed bool, err error) {
	leaf := rfc6962.DefaultHasher.HashLeaf(body)
	l.mu.Lock()
	defer l.mu.Unlock()
	if i, ok := l.byLeaf[hex.EncodeToString(leaf)]; ok {
		return l.entries[i].entryID, true, nil
	}
	// Rekor's entry ID: 16 hex digits of tree ID, then the leaf hash.
	id := fmt.Sprintf("%016x%x", rekorTreeID, leaf)
	index := int64(l.tree.Size())
	logID := hex.EncodeToString(l.logID)
	integrated := time.Now().Unix()
	anon := models.LogEntryAnon{LogID: &logID, LogIndex: &index, Body: body, IntegratedTime: &integrated}
	set, err := l.signEntry(ctx, anon)
	if err != nil {
		return "", false, err
	}
	l.tree.Append(leaf)
	l.byLeaf[hex.EncodeToString(leaf)] = index
	l.entries = append(l.entries, loggedEntry{entryID: id, anon: anon, set: set})
	return id, false, nil
}

// signEntry makes the signed entry timestamp (inclusion promise): a
// signature over the canonical JSON of the entry without verification.
func (l *rekorLog) signEntry(ctx context.Context, anon models.LogEntryAnon) ([]byte, error) {
	payload, err := anon.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("marshalling entry: %w", err)
	}
	canonical, err := jsoncanonicalizer.Transform(payload)
	if err != nil {
		return nil, fmt.Errorf("canonicalizing entry: %w", err)
	}
	set, err := l.signer.SignMessage(bytes.NewReader(canonical))
	if err != nil {
		return nil, fmt.Errorf("signing entry timestamp: %w", err)
	}
	return set, nil
}

// lookup returns the entry with the given 64- or 80-hex-digit ID, with an
// inclusion proof and signed checkpoint for the current tree, keyed by its
// entry ID as Rekor's API returns it.
func (l *rekorLog) lookup(ctx context.Context, id string) (models.LogEntry, bool, error) {
	if len(id) != 64 && len(id) != 80 {
		return nil, false, nil
	}
	uuid := id[len(id)-64:]
	l.mu.Lock()
	defer l.mu.Unlock()
	index, ok := l.byLeaf[uuid]
	if !ok {
		return nil, false, nil
	}
	e := l.entries[index]
	size := l.tree.Size()
	hashes, err := l.tree.InclusionProof(uint64(index), size)
	if err != nil {
		return nil, false, fmt.Errorf("building inclusion proof: %w", err)
	}
	rootHash := l.tree.Hash()
	checkpoint, err := util.CreateAndSignCheckpoint(ctx, l.hostname, rekorTreeID, size, rootHash, l.signer)
	if err != nil {
		return nil, false, fmt.Errorf("signing checkpoint: %w", err)
	}
	hexHashes := make([]string, len(hashes))
	for i, h := range hashes {
		hexHashes[i] = hex.EncodeToString(h)
	}
	treeSize, rootHex, cp := int64(size), hex.EncodeToString(rootHash), string(checkpoint)
	anon := e.anon
	anon.Verification = &models.LogEntryAnonVerification{
		InclusionProof: &models.InclusionProof{
			TreeSize:   &treeSize,
			RootHash:   &rootHex,
			LogIndex:   &index,
			Hashes:     hexHashes,
			Checkpoint: &cp,
		},
		SignedEntryTimestamp: e.set,
	}
	return models.LogEntry{e.entryID: anon}, true, nil
}
