package signing

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorwrite "github.com/sigstore/rekor-tiles/v2/pkg/client/write"
	rekorclient "github.com/sigstore/rekor/pkg/client"
	rekorgen "github.com/sigstore/rekor/pkg/generated/client"
	"github.com/sigstore/rekor/pkg/generated/client/entries"
	"github.com/sigstore/sigstore-go/pkg/sign"

	"github.com/attest-publish/attest-publish/internal/idtoken"
	"github.com/attest-publish/attest-publish/internal/netguard"
)

// Options configure a Signer.
type Options struct {
	// Services are the endpoints to use.
	Services *Services
	// Token is the identity token Fulcio certifies.
	Token *idtoken.Token
	// Timeout bounds each request (default 30 s).
	Timeout time.Duration
	// Attempts bounds tries per timestamp or log request (default 4).
	Attempts int
	// Backoff is the first wait between tries, doubled each time (default 500 ms).
	Backoff time.Duration
}

// Signer signs with one ephemeral key certified once by Fulcio. It is safe
// for concurrent use.
type Signer struct {
	opts   Options
	key    *ephemeralKey
	fulcio *sign.Fulcio
	tsas   []timestamper
	tlogs  []transparencyLog

	certOnce sync.Once
	cert     []byte
	certErr  error
}

type timestamper struct {
	url string
	tsa *sign.TimestampAuthority
}

type transparencyLog struct {
	url     string
	version uint32
	log     sign.Transparency
}

// New makes a signer with a fresh ephemeral key. It contacts nothing until
// the first signature.
func New(opts Options) (*Signer, error) {
	if opts.Services == nil || opts.Services.FulcioURL == "" {
		return nil, errors.New("signing: no Fulcio URL")
	}
	if opts.Token == nil {
		return nil, errors.New("signing: no identity token")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 4
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 500 * time.Millisecond
	}
	// The identity token goes to Fulcio's origin only, over https (plain
	// http only on loopback): never to where a redirect points.
	fulcioTransport, err := netguard.CredentialsOnlyTo(opts.Services.FulcioURL, nil)
	if err != nil {
		return nil, fmt.Errorf("signing: Fulcio URL: %w", err)
	}
	key, err := newEphemeralKey()
	if err != nil {
		return nil, err
	}
	s := &Signer{
		opts:   opts,
		key:    key,
		fulcio: sign.NewFulcio(&sign.FulcioOptions{BaseURL: opts.Services.FulcioURL, Timeout: opts.Timeout, Retries: 2, Transport: fulcioTransport}),
	}
	for _, u := range opts.Services.TSAURLs {
		s.tsas = append(s.tsas, timestamper{url: u, tsa: sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: u, Timeout: opts.Timeout})})
	}
	for _, r := range opts.Services.Rekors {
		ro := &sign.RekorOptions{BaseURL: r.URL, Timeout: opts.Timeout, Version: r.Version}
		// sign.Rekor creates its client lazily, which races when signatures
		// run concurrently: create it here, once.
		var err error
		switch r.Version {
		case 1:
			var c *rekorgen.Rekor
			if c, err = rekorclient.GetRekorClient(r.URL, rekorclient.WithRetryCount(0)); err == nil {
				ro.Client = c.Entries
			}
		case 2:
			ro.ClientV2, err = rekorwrite.NewWriter(r.URL)
		}
		if err != nil {
			return nil, fmt.Errorf("transparency log %s: %w", r.URL, err)
		}
		s.tlogs = append(s.tlogs, transparencyLog{url: r.URL, version: r.Version, log: sign.NewRekor(ro)})
	}
	return s, nil
}

// Certificate returns the DER leaf certificate for the run's key, asking
// Fulcio the first time only.
func (s *Signer) Certificate(ctx context.Context) ([]byte, error) {
	s.certOnce.Do(func() {
		err := s.retry(ctx, func() error {
			var err error
			s.cert, err = s.fulcio.GetCertificate(ctx, s.key, &sign.CertificateProviderOptions{IDToken: s.opts.Token.Raw})
			return err
		}, isConnectionError)
		if err != nil {
			msg := fmt.Sprintf("getting a signing certificate from Fulcio (%s): %v", s.opts.Services.FulcioURL, err)
			if hint := s.opts.Token.ExpiryHint(time.Now()); hint != "" {
				msg += "\nhint: " + hint
			}
			s.certErr = errors.New(msg)
		}
	})
	return s.cert, s.certErr
}

// SignDigest makes a message-signature bundle for an artifact given its
// SHA-256 digest (what cosign sign-blob and sigstore-python write).
func (s *Signer) SignDigest(ctx context.Context, sha256Digest []byte) (*protobundle.Bundle, error) {
	return s.sign(ctx, digestContent{digest: sha256Digest}, prehashedKey{s.key})
}

// SignStatement makes a DSSE bundle of an in-toto statement.
func (s *Signer) SignStatement(ctx context.Context, statement []byte) (*protobundle.Bundle, error) {
	return s.sign(ctx, &sign.DSSEData{Data: statement, PayloadType: "application/vnd.in-toto+json"}, s.key)
}

// fixedCertificate hands sign.Bundle the run's one certificate.
type fixedCertificate []byte

func (c fixedCertificate) GetCertificate(context.Context, sign.Keypair, *sign.CertificateProviderOptions) ([]byte, error) {
	return c, nil
}

func (s *Signer) sign(ctx context.Context, content sign.Content, key sign.Keypair) (*protobundle.Bundle, error) {
	cert, err := s.Certificate(ctx)
	if err != nil {
		return nil, err
	}
	b, err := sign.Bundle(content, key, sign.BundleOptions{
		CertificateProvider:        fixedCertificate(cert),
		CertificateProviderOptions: &sign.CertificateProviderOptions{},
		Context:                    ctx,
	})
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	sig := signatureOf(b)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert})

	// Timestamps and log entries do not depend on each other: ask for them
	// at the same time. Each goroutine touches only its own results; the log
	// client appends its entry to b, the timestamps are added after.
	var wg sync.WaitGroup
	var tsErr, tlogErr error
	var stamps [][]byte
	wg.Add(2)
	go func() {
		defer wg.Done()
		for _, t := range s.tsas {
			var stamp []byte
			err := s.retry(ctx, func() error {
				var err error
				stamp, err = t.tsa.GetTimestamp(ctx, sig)
				return err
			}, always)
			if err != nil {
				tsErr = fmt.Errorf("timestamp authority %s: %w", t.url, err)
				return
			}
			stamps = append(stamps, stamp)
		}
	}()
	go func() {
		defer wg.Done()
		for _, l := range s.tlogs {
			err := s.retry(ctx, func() error { return l.log.GetTransparencyLogEntry(ctx, certPEM, b) }, logRetryable)
			if err != nil {
				tlogErr = fmt.Errorf("transparency log %s (Rekor v%d): %w", l.url, l.version, err)
				return
			}
		}
	}()
	wg.Wait()
	if err := errors.Join(tsErr, tlogErr); err != nil {
		return nil, err
	}
	for _, stamp := range stamps {
		vm := b.VerificationMaterial
		if vm.TimestampVerificationData == nil {
			vm.TimestampVerificationData = &protobundle.TimestampVerificationData{}
		}
		vm.TimestampVerificationData.Rfc3161Timestamps = append(vm.TimestampVerificationData.Rfc3161Timestamps,
			&protocommon.RFC3161SignedTimestamp{SignedTimestamp: stamp})
	}
	return b, nil
}

func signatureOf(b *protobundle.Bundle) []byte {
	if ms := b.GetMessageSignature(); ms != nil {
		return ms.GetSignature()
	}
	if env := b.GetDsseEnvelope(); env != nil && len(env.GetSignatures()) > 0 {
		return env.GetSignatures()[0].GetSig()
	}
	return nil
}

// retry calls fn until it succeeds, a try fails in a way retryable says is
// final, the attempts run out, or ctx ends; waits double from Backoff.
func (s *Signer) retry(ctx context.Context, fn func() error, retryable func(error) bool) error {
	wait := s.opts.Backoff
	var err error
	for attempt := 1; ; attempt++ {
		if err = fn(); err == nil {
			return nil
		}
		if ctx.Err() != nil || !retryable(err) || attempt >= s.opts.Attempts {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
	if s.opts.Attempts > 1 && retryable(err) {
		return fmt.Errorf("after %d attempts: %w", s.opts.Attempts, err)
	}
	return err
}

func always(error) bool { return true }

// isConnectionError is true when no HTTP answer came at all (Fulcio's client
// already retries 5xx and 429 itself; its 4xx refusals are final).
func isConnectionError(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue)
}

// logRetryable treats a Rekor v1 "400 Bad Request" as a final refusal and
// everything else (connection errors, 5xx) as worth another try.
func logRetryable(err error) bool {
	var bad *entries.CreateLogEntryBadRequest
	return !errors.As(err, &bad) && !errors.Is(err, context.Canceled)
}
