package sigstoretest

import (
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// operator names the fake services in the signing config.
const operator = "sigstoretest"

// writeTrustedRoot writes trusted_root.json (Fulcio CA, timestamp authority,
// Rekor key; no CT log) and keeps the reloaded copy, so the file is what
// TrustedRoot returns.
func (in *Instance) writeTrustedRoot() error {
	p := in.pki
	fulcio := &root.FulcioCertificateAuthority{
		Root:                p.root,
		Intermediates:       []*x509.Certificate{p.fulcioCert},
		ValidityPeriodStart: p.since,
		URI:                 in.fulcio.URL,
	}
	tsa := &root.SigstoreTimestampingAuthority{
		Root:                p.root,
		Intermediates:       []*x509.Certificate{p.tsaIntermediate},
		Leaf:                p.tsaLeaf,
		ValidityPeriodStart: p.since,
		URI:                 in.TSAURL(),
	}
	// Keyed by hex log ID, holding the raw ID (VirtualSigstore.RekorLogs gets
	// the latter wrong).
	rekor := map[string]*root.TransparencyLog{
		hex.EncodeToString(in.log.logID): {
			BaseURL:             in.rekor.URL,
			ID:                  in.log.logID,
			ValidityPeriodStart: p.since,
			HashFunc:            crypto.SHA256,
			PublicKey:           p.rekorKey.Public(),
			SignatureHashFunc:   crypto.SHA256,
		},
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, []root.CertificateAuthority{fulcio},
		map[string]*root.TransparencyLog{}, []root.TimestampingAuthority{tsa}, rekor)
	if err != nil {
		return fmt.Errorf("building trusted root: %w", err)
	}
	data, err := tr.MarshalJSON()
	if err != nil {
		return fmt.Errorf("marshalling trusted root: %w", err)
	}
	path := filepath.Join(in.dir, "trusted_root.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing trusted root: %w", err)
	}
	if in.trust, err = root.NewTrustedRootFromPath(path); err != nil {
		return fmt.Errorf("reloading trusted root %s: %w", path, err)
	}
	in.trustedRootPath = path
	return nil
}

// TrustedRootPath returns the path of the instance's trusted_root.json.
func (in *Instance) TrustedRootPath() string { return in.trustedRootPath }

// TrustedRoot returns the instance's trusted root, as loaded back from
// TrustedRootPath.
func (in *Instance) TrustedRoot() *root.TrustedRoot { return in.trust }

// SigningConfigPath writes a v0.2 signing config naming the fake Fulcio and,
// as asked, the timestamp authority and the Rekor log (API version 1), and
// returns its path. It panics if the file cannot be written.
func (in *Instance) SigningConfigPath(withTSA, withRekor bool) string {
	data, err := in.signingConfigJSON(withTSA, withRekor)
	if err != nil {
		panic(fmt.Sprintf("sigstoretest: %v", err))
	}
	path := filepath.Join(in.dir, fmt.Sprintf("signing_config_tsa-%t_rekor-%t.json", withTSA, withRekor))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		panic(fmt.Sprintf("sigstoretest: writing signing config: %v", err))
	}
	return path
}

// signingConfigJSON builds the signing config with sigstore-go's constructor.
func (in *Instance) signingConfigJSON(withTSA, withRekor bool) ([]byte, error) {
	service := func(url string) root.Service {
		return root.Service{URL: url, MajorAPIVersion: 1, ValidityPeriodStart: in.pki.since, Operator: operator}
	}
	var tsas, logs []root.Service
	if withTSA {
		tsas = append(tsas, service(in.TSAURL()))
	}
	if withRekor {
		logs = append(logs, service(in.rekor.URL))
	}
	anyOne := root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY}
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02,
		[]root.Service{service(in.fulcio.URL)}, nil, logs, anyOne, tsas, anyOne)
	if err != nil {
		return nil, fmt.Errorf("building signing config: %w", err)
	}
	data, err := sc.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("marshalling signing config: %w", err)
	}
	return data, nil
}
