package pypi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/crypto/blake2b"

	"github.com/attest-publish/attest-publish/internal/dists"
)

// Field is one form field of an upload, in the order it is sent.
type Field struct {
	// Name is the form field name.
	Name string
	// Value is its value.
	Value string
}

// metadataFields maps form fields to the core metadata fields they carry,
// in the order twine 7 sends them. Multi-valued fields are repeated.
var metadataFields = []struct {
	form, header string
	multi        bool
}{
	{"summary", "summary", false},
	{"home_page", "home-page", false},
	{"author", "author", false},
	{"author_email", "author-email", false},
	{"maintainer", "maintainer", false},
	{"maintainer_email", "maintainer-email", false},
	{"license", "license", false},
	{"description", "description", false},
	{"keywords", "keywords", false},
	{"platform", "platform", true},
	{"classifiers", "classifier", true},
	{"download_url", "download-url", false},
	{"supported_platform", "supported-platform", true},
	{"provides", "provides", true},
	{"requires", "requires", true},
	{"obsoletes", "obsoletes", true},
	{"project_urls", "project-url", true},
	{"provides_dist", "provides-dist", true},
	{"obsoletes_dist", "obsoletes-dist", true},
	{"requires_dist", "requires-dist", true},
	{"requires_external", "requires-external", true},
	{"requires_python", "requires-python", false},
	{"provides_extra", "provides-extra", true},
	{"description_content_type", "description-content-type", false},
	{"dynamic", "dynamic", true},
	{"license_expression", "license-expression", false},
	{"license_file", "license-file", true},
}

var unsafeNameRuns = regexp.MustCompile(`[^A-Za-z0-9.]+`)

// SafeName is the project name as twine sends it: runs of characters other
// than ASCII letters, digits and "." become "-".
func SafeName(name string) string { return unsafeNameRuns.ReplaceAllString(name, "-") }

// FormFields returns the non-file fields of the upload of d with metadata m,
// in the order they are sent: twine 7's field set (no md5_digest), fields
// absent from the metadata left out, and attestations as one JSON array
// when any are given.
func FormFields(d *dists.Dist, m *Metadata, attestations [][]byte) ([]Field, error) {
	if len(d.SHA256) != sha256.Size || len(d.Blake2b256) != blake2b.Size256 {
		return nil, fmt.Errorf("%s has not been hashed", d.Filename)
	}
	pyversion := d.Parsed.PythonTag
	if d.Parsed.Kind == dists.Sdist {
		pyversion = "source"
	}
	fields := []Field{
		{":action", "file_upload"},
		{"protocol_version", "1"},
		{"name", SafeName(m.Get("name"))},
		{"version", m.Get("version")},
		{"filetype", string(d.Parsed.Kind)},
		{"pyversion", pyversion},
		{"metadata_version", m.Get("metadata-version")},
	}
	atLeast24 := metadataVersionAtLeast(m.Get("metadata-version"), 2, 4)
	for _, mf := range metadataFields {
		switch {
		case mf.form == "description":
			if m.Description != "" {
				fields = append(fields, Field{"description", m.Description})
			}
		case mf.form == "keywords":
			if m.Has("keywords") {
				var kws []string
				for _, k := range strings.Split(m.Get("keywords"), ",") {
					if k = strings.TrimSpace(k); k != "" {
						kws = append(kws, k)
					}
				}
				fields = append(fields, Field{"keywords", strings.Join(kws, ", ")})
			}
		case mf.form == "project_urls":
			for _, v := range m.Values(mf.header) {
				label, u, ok := strings.Cut(v, ",")
				if ok {
					v = strings.TrimSpace(label) + ", " + strings.TrimSpace(u)
				}
				fields = append(fields, Field{mf.form, v})
			}
		case mf.form == "license_file" && !atLeast24:
		case mf.multi:
			for _, v := range m.Values(mf.header) {
				fields = append(fields, Field{mf.form, v})
			}
		default:
			if m.Has(mf.header) {
				fields = append(fields, Field{mf.form, m.Get(mf.header)})
			}
		}
	}
	fields = append(fields,
		Field{"sha256_digest", hex.EncodeToString(d.SHA256)},
		Field{"blake2_256_digest", hex.EncodeToString(d.Blake2b256)},
	)
	if len(attestations) > 0 {
		var arr bytes.Buffer
		arr.WriteByte('[')
		for i, a := range attestations {
			if i > 0 {
				arr.WriteByte(',')
			}
			if err := json.Compact(&arr, a); err != nil {
				return nil, fmt.Errorf("attestation %d for %s is not JSON: %w", i+1, d.Filename, err)
			}
		}
		arr.WriteByte(']')
		fields = append(fields, Field{"attestations", arr.String()})
	}
	return fields, nil
}

func metadataVersionAtLeast(v string, major, minor int) bool {
	a, b, _ := strings.Cut(v, ".")
	ma, err1 := strconv.Atoi(a)
	mi, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

// ErrExists is wrapped by Upload's error when the index already has a file
// of that name (what twine's --skip-existing skips).
var ErrExists = errors.New("the index already has this file")

// UploadError is an upload the index refused.
type UploadError struct {
	// Filename is the dist's filename.
	Filename string
	// Host is the repository's host.
	Host string
	// Status is the HTTP status code.
	Status int
	// Message is the index's reason (PyPI puts it in the status line).
	Message string
	// Exists is set when the refusal says the file already exists.
	Exists bool
}

// Error says what the index answered, with a hint where one helps.
func (e *UploadError) Error() string {
	msg := fmt.Sprintf("uploading %s to %s: HTTP %d", e.Filename, e.Host, e.Status)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	switch {
	case e.Exists:
		msg += " (rerun with skip-existing to skip files the index already has)"
	case e.Status == http.StatusUnauthorized:
		msg += " (the credentials were refused: check the API token or the trusted publisher)"
	case e.Status == http.StatusForbidden:
		msg += " (the credentials may not upload to this project)"
	case e.Status == http.StatusRequestEntityTooLarge:
		msg += " (the file exceeds the project's upload size limit)"
	}
	return msg
}

// Is makes errors.Is(err, ErrExists) true for an existing file.
func (e *UploadError) Is(target error) bool { return target == ErrExists && e.Exists }

// DigestMismatchError aborts an upload whose file no longer has the size or
// digests it was hashed (and signed, and verified) with: a size that
// differs is refused before anything is sent, and a content that differs
// cuts the request off before its last bytes, so the index never receives
// a complete file.
type DigestMismatchError struct {
	// Path is the dist's path.
	Path string
	// Want and Got are hex SHA-256 digests; Got is empty when the size
	// changed first.
	Want, Got string
	// WantSize and GotSize are sizes in bytes.
	WantSize, GotSize int64
}

// Error names the file, both digests or sizes, and says it was not
// uploaded.
func (e *DigestMismatchError) Error() string {
	if e.WantSize != e.GotSize {
		return fmt.Sprintf("%s changed after it was hashed (%d bytes, now %d): it was not uploaded (the index never received the whole file)", e.Path, e.WantSize, e.GotSize)
	}
	return fmt.Sprintf("%s changed after it was hashed (sha256 %s, now %s): it was not uploaded (the upload was cut off before its last bytes, so the index never received the whole file)", e.Path, e.Want, e.Got)
}

// errRequestDone stops the body writer once the request is over.
var errRequestDone = errors.New("upload request finished")

// chunkSize is the size of each read of the dist while uploading.
const chunkSize = 64 << 10

// maxUploadResponse bounds the upload response read into memory (an
// index's answer is a status line and a short message or HTML page).
const maxUploadResponse = 64 << 10

// Upload sends one distribution to a legacy upload API (such as
// https://upload.pypi.org/legacy/) as one multipart/form-data POST with
// Basic auth from auth, without following redirects. The file is streamed
// (memory is flat in its size) and hashed again on the way; if its size or
// digests differ from d's, the request is aborted before its last chunk is
// sent and a *DigestMismatchError is returned. A refusal is an
// *UploadError; one saying the file exists matches ErrExists. The
// repository URL must be https (plain http only for a loopback host), and
// the default client gives up on a stalled index (see Client.HTTP).
func (c *Client) Upload(ctx context.Context, repositoryURL string, d *dists.Dist, m *Metadata, attestations [][]byte, auth Credentials) error {
	u, err := CheckRepositoryURL(repositoryURL)
	if err != nil {
		return fmt.Errorf("uploading %s: %w", d.Filename, err)
	}
	fields, err := FormFields(d, m, attestations)
	if err != nil {
		return fmt.Errorf("uploading %s: %w", d.Filename, err)
	}
	f, err := os.Open(d.Path)
	if err != nil {
		return fmt.Errorf("uploading %s: %w", d.Filename, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("uploading %s: %w", d.Filename, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("uploading %s: not a regular file", d.Path)
	}
	if st.Size() != d.Size {
		return &DigestMismatchError{Path: d.Path, WantSize: d.Size, GotSize: st.Size()}
	}

	boundary := multipart.NewWriter(io.Discard).Boundary()
	var counter countingWriter
	if err := writeForm(&counter, boundary, fields, d.Filename, func(w io.Writer) error {
		counter.n += d.Size
		return nil
	}); err != nil {
		return fmt.Errorf("uploading %s: sizing the request: %w", d.Filename, err)
	}

	var user, pass string
	if auth != nil {
		if user, pass, err = auth.Credentials(ctx); err != nil {
			return fmt.Errorf("uploading %s: %w", d.Filename, err)
		}
	}

	pr, pw := io.Pipe()
	writeErr := make(chan error, 1)
	go func() {
		err := writeForm(pw, boundary, fields, d.Filename, func(w io.Writer) error {
			return copyVerified(w, f, d)
		})
		pw.CloseWithError(err)
		writeErr <- err
	}()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, repositoryURL, pr)
	if err != nil {
		pr.CloseWithError(err)
		<-writeErr
		return fmt.Errorf("uploading %s: %w", d.Filename, err)
	}
	req.ContentLength = counter.n
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	req.Header.Set("User-Agent", c.userAgent())
	if auth != nil {
		req.SetBasicAuth(user, pass)
	}
	hc := *c.httpClient(false)
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, doErr := hc.Do(req)
	// Unblock the writer if the server answered before reading everything.
	pr.CloseWithError(errRequestDone)
	wErr := <-writeErr
	var mismatch *DigestMismatchError
	if errors.As(wErr, &mismatch) {
		if resp != nil {
			resp.Body.Close()
		}
		return mismatch
	}
	if doErr != nil {
		// The transport closing the body (io.ErrClosedPipe) is not the cause.
		if wErr != nil && !errors.Is(wErr, errRequestDone) && !errors.Is(wErr, io.ErrClosedPipe) {
			return fmt.Errorf("uploading %s: %w", d.Filename, wErr)
		}
		return fmt.Errorf("uploading %s to %s: %w", d.Filename, u.Host, doErr)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxUploadResponse))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// PyPI answers 200, GitLab's PyPI registry 201 Created.
		return nil
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return fmt.Errorf("uploading %s: %s redirects (%s) to %q; uploads are not redirected, use the final URL as the repository URL", d.Filename, repositoryURL, resp.Status, resp.Header.Get("Location"))
	}
	reason := reasonPhrase(resp)
	ue := &UploadError{Filename: d.Filename, Host: u.Host, Status: resp.StatusCode, Message: reason}
	if m := bodyMessage(body, ""); m != "" && (reason == "" || reason == http.StatusText(resp.StatusCode)) {
		ue.Message = m
	}
	ue.Exists = fileExists(resp.StatusCode, reason, string(body))
	return ue
}

// reasonPhrase returns the status line's text after the code.
func reasonPhrase(resp *http.Response) string {
	return strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)))
}

// fileExists judges whether a refusal means "this file is already there",
// as indexes phrase it: PyPI and TestPyPI (400 "File already exists"),
// pypiserver (409), Nexus, Artifactory and GitLab.
func fileExists(status int, reason, body string) bool {
	reason, body = strings.ToLower(reason), strings.ToLower(body)
	has := func(s string) bool { return strings.Contains(reason, s) || strings.Contains(body, s) }
	switch status {
	case http.StatusConflict:
		return true
	case http.StatusBadRequest:
		return has("already exist") || has("updating asset") || has("cannot be updated")
	case http.StatusForbidden:
		return strings.Contains(body, "overwrite artifact")
	}
	return false
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// writeForm writes the multipart body: the fields, then the content part,
// whose bytes content writes.
func writeForm(w io.Writer, boundary string, fields []Field, filename string, content func(io.Writer) error) error {
	mw := multipart.NewWriter(w)
	if err := mw.SetBoundary(boundary); err != nil {
		return err
	}
	for _, f := range fields {
		if err := mw.WriteField(f.Name, f.Value); err != nil {
			return err
		}
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="content"; filename="%s"`, escapeQuotes(filename)))
	h.Set("Content-Type", "application/octet-stream")
	part, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	if err := content(part); err != nil {
		return err
	}
	return mw.Close()
}

// quoteEscaper escapes a quoted multipart header parameter exactly as Go's
// mime/multipart does (FileContentDisposition): '\' and '"' backslash-
// escaped, CR and LF percent-encoded (RFC 7578 section 4.2), so that a
// filename can neither close the quoted string nor start a header line of
// its own. (Dist filenames are validated long before: dists.ParseFilename.)
var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "%0D", "\n", "%0A")

// escapeQuotes escapes s for a quoted parameter of a multipart header.
func escapeQuotes(s string) string { return quoteEscaper.Replace(s) }

// copyVerified copies the dist to w while hashing it, holding back the
// last chunk until the digests are checked, so a changed file never reaches
// the index in full.
func copyVerified(w io.Writer, f io.Reader, d *dists.Dist) error {
	dg := dists.NewDigester()
	bufs := [2][]byte{make([]byte, chunkSize), make([]byte, chunkSize)}
	var pending []byte
	var total int64
	for i := 0; ; i ^= 1 {
		n, rerr := io.ReadFull(f, bufs[i])
		if n > 0 {
			chunk := bufs[i][:n]
			dg.Write(chunk)
			total += int64(n)
			if total > d.Size {
				return &DigestMismatchError{Path: d.Path, WantSize: d.Size, GotSize: total}
			}
			if pending != nil {
				if _, err := w.Write(pending); err != nil {
					return err
				}
			}
			pending = chunk
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("reading %s: %w", d.Path, rerr)
		}
	}
	if total != d.Size {
		return &DigestMismatchError{Path: d.Path, WantSize: d.Size, GotSize: total}
	}
	gotSHA, gotB2, _ := dg.Sums()
	if !bytes.Equal(gotSHA, d.SHA256) || !bytes.Equal(gotB2, d.Blake2b256) {
		return &DigestMismatchError{Path: d.Path, Want: hex.EncodeToString(d.SHA256), Got: hex.EncodeToString(gotSHA), WantSize: d.Size, GotSize: total}
	}
	if pending != nil {
		if _, err := w.Write(pending); err != nil {
			return err
		}
	}
	return nil
}
