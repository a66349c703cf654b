package localstack

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"time"

	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/sigstore-go/pkg/root"
	"google.golang.org/protobuf/encoding/protojson"
)

// trustInputs are the keys and chains the trust files are built from.
type trustInputs struct {
	fulcioChain []byte           // PEM, root last
	tsaChain    []byte           // PEM: leaf, intermediates, root
	ctKey       crypto.PublicKey // CT log key
	rekorV1Key  crypto.PublicKey // Rekor v1 (memory signer) key
	rekorV2Key  crypto.PublicKey // Rekor v2 checkpoint key
	start       time.Time        // validity start of everything
}

// fetchTrustInputs collects the ephemeral CA chains and log keys from the
// running servers, and the on-disk keys.
func fetchTrustInputs(ctPub, rekorV2Pub string, start time.Time) (*trustInputs, error) {
	in := &trustInputs{start: start}
	var err error
	if in.fulcioChain, err = fetchFulcioChain(); err != nil {
		return nil, err
	}
	if in.tsaChain, err = httpGet(TSAURL + "/certchain"); err != nil {
		return nil, fmt.Errorf("fetching TSA chain: %w", err)
	}
	rekorPEM, err := httpGet(RekorV1URL + "/api/v1/log/publicKey")
	if err != nil {
		return nil, fmt.Errorf("fetching rekor v1 key: %w", err)
	}
	if in.rekorV1Key, err = parsePublicKeyPEM(rekorPEM); err != nil {
		return nil, fmt.Errorf("rekor v1 key: %w", err)
	}
	if in.ctKey, err = readPublicKey(ctPub); err != nil {
		return nil, fmt.Errorf("CT log key: %w", err)
	}
	if in.rekorV2Key, err = readPublicKey(rekorV2Pub); err != nil {
		return nil, fmt.Errorf("rekor v2 key: %w", err)
	}
	return in, nil
}

// trustedRoot builds the trusted root with sigstore-go.
func (in *trustInputs) trustedRoot() (*root.TrustedRoot, error) {
	fulcio, err := parseCertsPEM(in.fulcioChain)
	if err != nil {
		return nil, fmt.Errorf("fulcio chain: %w", err)
	}
	tsa, err := parseCertsPEM(in.tsaChain)
	if err != nil {
		return nil, fmt.Errorf("TSA chain: %w", err)
	}
	if len(tsa) < 2 {
		return nil, fmt.Errorf("TSA chain has %d certificates, want leaf..root", len(tsa))
	}
	ca := &root.FulcioCertificateAuthority{
		Root: fulcio[len(fulcio)-1], Intermediates: fulcio[:len(fulcio)-1],
		ValidityPeriodStart: in.start, URI: FulcioURL,
	}
	ta := &root.SigstoreTimestampingAuthority{
		Leaf: tsa[0], Intermediates: tsa[1 : len(tsa)-1], Root: tsa[len(tsa)-1],
		ValidityPeriodStart: in.start, URI: TSAURL,
	}
	ct, err := in.log(CTURL, in.ctKey, derKeyID)
	if err != nil {
		return nil, fmt.Errorf("CT log: %w", err)
	}
	v1, err := in.log(RekorV1URL, in.rekorV1Key, derKeyID)
	if err != nil {
		return nil, fmt.Errorf("rekor v1: %w", err)
	}
	v2, err := in.log(RekorV2URL, in.rekorV2Key, checkpointKeyID(RekorV2URL))
	if err != nil {
		return nil, fmt.Errorf("rekor v2: %w", err)
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{ca},
		map[string]*root.TransparencyLog{hex.EncodeToString(ct.ID): ct},
		[]root.TimestampingAuthority{ta},
		map[string]*root.TransparencyLog{hex.EncodeToString(v1.ID): v1, hex.EncodeToString(v2.ID): v2})
	if err != nil {
		return nil, fmt.Errorf("building trusted root: %w", err)
	}
	return tr, nil
}

// log describes one transparency log; keyID computes its log id.
func (in *trustInputs) log(baseURL string, key crypto.PublicKey, keyID func(crypto.PublicKey) ([]byte, error)) (*root.TransparencyLog, error) {
	id, err := keyID(key)
	if err != nil {
		return nil, err
	}
	return &root.TransparencyLog{
		BaseURL: baseURL, ID: id, ValidityPeriodStart: in.start,
		HashFunc: crypto.SHA256, PublicKey: key, SignatureHashFunc: crypto.SHA256,
	}, nil
}

// derKeyID is the log id of CT logs and Rekor v1: SHA-256 of the DER
// (PKIX) public key.
func derKeyID(key crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, fmt.Errorf("encoding log key: %w", err)
	}
	sum := sha256.Sum256(der)
	return sum[:], nil
}

// checkpointKeyID returns the log id function of a Rekor v2 log at baseURL:
// the signed-note key hash for the checkpoint origin, which rekor-tiles
// derives from the host of its baseUrl (--hostname).
func checkpointKeyID(baseURL string) func(crypto.PublicKey) ([]byte, error) {
	return func(key crypto.PublicKey) ([]byte, error) {
		u, err := url.Parse(baseURL)
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", baseURL, err)
		}
		_, id, err := note.KeyHash(u.Hostname(), key)
		if err != nil {
			return nil, fmt.Errorf("computing checkpoint key id: %w", err)
		}
		return id, nil
	}
}

// signingConfig builds a v0.2 signing config using the Rekor log at
// rekorURL with the given major API version.
func signingConfig(rekorURL string, rekorAPI uint32, start time.Time) (*root.SigningConfig, error) {
	svc := func(u string, v uint32) []root.Service {
		return []root.Service{{URL: u, MajorAPIVersion: v, ValidityPeriodStart: start, Operator: "local"}}
	}
	anyOne := root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY}
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02,
		svc(FulcioURL, 1), svc(OIDCIssuerURL, 1), svc(rekorURL, rekorAPI), anyOne, svc(TSAURL, 1), anyOne)
	if err != nil {
		return nil, fmt.Errorf("building signing config: %w", err)
	}
	return sc, nil
}

// writeTrust writes trusted_root.json, signing_config.json (Rekor v1) and
// signing_config_rekor2.json (Rekor v2) into dir/trust and checks that
// sigstore-go loads them back.
func (s *Stack) writeTrust(in *trustInputs) error {
	trust := filepath.Join(s.Dir, "trust")
	tr, err := in.trustedRoot()
	if err != nil {
		return err
	}
	data, err := tr.MarshalJSON()
	if err != nil {
		return fmt.Errorf("encoding trusted root: %w", err)
	}
	if data, err = nameAuthorities(data); err != nil {
		return err
	}
	s.TrustedRoot = filepath.Join(trust, "trusted_root.json")
	if err := writeFile(s.TrustedRoot, data); err != nil {
		return err
	}
	if _, err := root.NewTrustedRootFromPath(s.TrustedRoot); err != nil {
		return fmt.Errorf("reloading trusted root: %w", err)
	}
	for _, c := range []struct {
		path *string
		file string
		url  string
		api  uint32
	}{
		{&s.SigningConfig, "signing_config.json", RekorV1URL, 1},
		{&s.SigningConfigRekor2, "signing_config_rekor2.json", RekorV2URL, 2},
	} {
		sc, err := signingConfig(c.url, c.api, in.start)
		if err != nil {
			return err
		}
		data, err := sc.MarshalJSON()
		if err != nil {
			return fmt.Errorf("encoding %s: %w", c.file, err)
		}
		*c.path = filepath.Join(trust, c.file)
		if err := writeFile(*c.path, data); err != nil {
			return err
		}
		if _, err := root.NewSigningConfigFromPath(*c.path); err != nil {
			return fmt.Errorf("reloading %s: %w", c.file, err)
		}
	}
	return nil
}

// nameAuthorities gives every certificate authority in a trusted root a
// subject commonName. The ephemeral CAs of Fulcio and the TSA have none, so
// sigstore-go writes an empty one, which protobuf JSON drops; sigstore-python
// requires the field (it is descriptive only: verification uses the
// certificates). The name used is the CA's URI host, like "sigstore" for the
// public-good root.
func nameAuthorities(trustedRootJSON []byte) ([]byte, error) {
	var tr prototrustroot.TrustedRoot
	if err := protojson.Unmarshal(trustedRootJSON, &tr); err != nil {
		return nil, fmt.Errorf("re-reading trusted root: %w", err)
	}
	for _, ca := range append(tr.GetCertificateAuthorities(), tr.GetTimestampAuthorities()...) {
		if ca.GetSubject() == nil {
			ca.Subject = &protocommon.DistinguishedName{}
		}
		if ca.Subject.CommonName == "" {
			ca.Subject.CommonName = "local " + ca.GetUri()
		}
		if ca.Subject.Organization == "" {
			ca.Subject.Organization = "attest-publish local stack"
		}
	}
	out, err := protojson.Marshal(&tr)
	if err != nil {
		return nil, fmt.Errorf("encoding trusted root: %w", err)
	}
	return out, nil
}
