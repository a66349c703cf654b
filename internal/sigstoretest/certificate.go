package sigstoretest

//lint:file-ignore SA1019 Fulcio still issues the deprecated .1–.6 extensions, so the fake does too.

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// extensionTemplate maps a Fulcio OID to how its value derives from the
// token, following Fulcio's GitHub Actions ci-provider configuration.
type extensionTemplate struct {
	oid asn1.ObjectIdentifier
	// raw: the deprecated .1–.6 extensions hold the bare string; the others
	// a DER UTF8String.
	raw bool
	// claim names the token claim.
	claim string
	// url: the value is {{ .url }}/{{ .claim }}.
	url bool
	// run: the value is the run invocation URI instead of a claim.
	run bool
}

// githubExtensions lists what Fulcio v1.8.8 puts in a GitHub Actions
// certificate, in Fulcio's order.
var githubExtensions = []extensionTemplate{
	{oid: certificate.OIDIssuer, raw: true, claim: "iss"},
	{oid: certificate.OIDGitHubWorkflowTrigger, raw: true, claim: "event_name"},
	{oid: certificate.OIDGitHubWorkflowSHA, raw: true, claim: "sha"},
	{oid: certificate.OIDGitHubWorkflowName, raw: true, claim: "workflow"},
	{oid: certificate.OIDGitHubWorkflowRepository, raw: true, claim: "repository"},
	{oid: certificate.OIDGitHubWorkflowRef, raw: true, claim: "ref"},
	{oid: certificate.OIDIssuerV2, claim: "iss"},
	{oid: certificate.OIDBuildSignerURI, claim: "job_workflow_ref", url: true},
	{oid: certificate.OIDBuildSignerDigest, claim: "job_workflow_sha"},
	{oid: certificate.OIDRunnerEnvironment, claim: "runner_environment"},
	{oid: certificate.OIDSourceRepositoryURI, claim: "repository", url: true},
	{oid: certificate.OIDSourceRepositoryDigest, claim: "sha"},
	{oid: certificate.OIDSourceRepositoryRef, claim: "ref"},
	{oid: certificate.OIDSourceRepositoryIdentifier, claim: "repository_id"},
	{oid: certificate.OIDSourceRepositoryOwnerURI, claim: "repository_owner", url: true},
	{oid: certificate.OIDSourceRepositoryOwnerIdentifier, claim: "repository_owner_id"},
	{oid: certificate.OIDBuildConfigURI, claim: "workflow_ref", url: true},
	{oid: certificate.OIDBuildConfigDigest, claim: "workflow_sha"},
	{oid: certificate.OIDBuildTrigger, claim: "event_name"},
	{oid: certificate.OIDRunInvocationURI, run: true},
	{oid: certificate.OIDSourceRepositoryVisibilityAtSigning, claim: "repository_visibility"},
}

// issueCertificate makes Fulcio's 10-minute code-signing certificate for pub
// and returns the PEM chain leaf, intermediate, root.
func (in *Instance) issueCertificate(pub crypto.PublicKey, claims map[string]any) ([]string, error) {
	jobWorkflowRef := claimString(claims, "job_workflow_ref")
	if jobWorkflowRef == "" {
		return nil, errors.New("token has no job_workflow_ref claim")
	}
	san, err := url.Parse(in.githubURL + "/" + jobWorkflowRef)
	if err != nil {
		return nil, fmt.Errorf("building SAN: %w", err)
	}
	exts, err := in.extensions(claims)
	if err != nil {
		return nil, err
	}
	serial, err := cryptoutils.GenerateSerialNumber()
	if err != nil {
		return nil, fmt.Errorf("generating serial number: %w", err)
	}
	skid, err := cryptoutils.SKID(pub)
	if err != nil {
		return nil, fmt.Errorf("computing subject key ID: %w", err)
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber:    serial,
		NotBefore:       now,
		NotAfter:        now.Add(10 * time.Minute),
		SubjectKeyId:    skid,
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		URIs:            []*url.URL{san},
		ExtraExtensions: exts,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, in.pki.fulcioCert, pub, in.pki.fulcioKey)
	if err != nil {
		return nil, fmt.Errorf("signing certificate: %w", err)
	}
	chain := []string{string(cryptoutils.PEMEncode(cryptoutils.CertificatePEMType, der))}
	for _, c := range []*x509.Certificate{in.pki.fulcioCert, in.pki.root} {
		chain = append(chain, string(cryptoutils.PEMEncode(cryptoutils.CertificatePEMType, c.Raw)))
	}
	return chain, nil
}

// extensions renders the Fulcio extensions for a GitHub Actions token,
// skipping empty values as Fulcio does.
func (in *Instance) extensions(claims map[string]any) ([]pkix.Extension, error) {
	var exts []pkix.Extension
	for _, e := range githubExtensions {
		value := claimString(claims, e.claim)
		switch {
		case e.run:
			value = in.runInvocationURI(claims)
		case e.url && value != "":
			value = in.githubURL + "/" + value
		}
		if value == "" {
			continue
		}
		if e.raw {
			exts = append(exts, pkix.Extension{Id: e.oid, Value: []byte(value)})
			continue
		}
		der, err := asn1.MarshalWithParams(value, "utf8")
		if err != nil {
			return nil, fmt.Errorf("encoding extension %v: %w", e.oid, err)
		}
		exts = append(exts, pkix.Extension{Id: e.oid, Value: der})
	}
	return exts, nil
}

// runInvocationURI is Fulcio's
// {{url}}/{{repository}}/actions/runs/{{run_id}}/attempts/{{run_attempt}}.
func (in *Instance) runInvocationURI(claims map[string]any) string {
	repo, id, attempt := claimString(claims, "repository"), claimString(claims, "run_id"), claimString(claims, "run_attempt")
	if repo == "" || id == "" || attempt == "" {
		return ""
	}
	return in.githubURL + "/" + repo + "/actions/runs/" + id + "/attempts/" + attempt
}

// claimString returns a claim as a string ("" when absent).
func claimString(claims map[string]any, name string) string {
	switch v := claims[name].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		return fmt.Sprint(v)
	}
}
