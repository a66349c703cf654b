package pypi

import (
	"bytes"
	"io"
	"mime/multipart"
	"strings"
	"testing"
)

// TestWriteFormFilenameCannotInjectHeaders: the content part's filename is
// a quoted Content-Disposition parameter escaped as mime/multipart does, so
// a CR, LF or quote in it can neither add a header line to the part nor
// rename the field (security review, finding 1: escapeQuotes left CR/LF in
// the header). Each form parses back to exactly the fields sent, with one
// content part whose only headers are Content-Disposition and Content-Type.
func TestWriteFormFilenameCannotInjectHeaders(t *testing.T) {
	for _, tc := range []struct {
		name, filename, wantFilename string
	}{
		{"plain", "sample-1.0-py3-none-any.whl", "sample-1.0-py3-none-any.whl"},
		{"CRLF header line", "sample-1.0-py3-none-any.whl\r\nX-Injected: yes", "sample-1.0-py3-none-any.whl%0D%0AX-Injected: yes"},
		{"LF header line", "x.whl\nContent-Type: evil", "x.whl%0AContent-Type: evil"},
		{"CR alone", "x.whl\rX-Injected: yes", "x.whl%0DX-Injected: yes"},
		{"blank line ends the headers", "x.whl\r\n\r\nbody", "x.whl%0D%0A%0D%0Abody"},
		{"quote renames the field", `x"; name="attestations.whl`, `x"; name="attestations.whl`},
		{"backslash before the quote", `x\"; name="attestations.whl`, `x\"; name="attestations.whl`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const boundary = "test-boundary-0123456789"
			fields := []Field{{Name: ":action", Value: "file_upload"}, {Name: "name", Value: "sample"}}
			var buf bytes.Buffer
			err := writeForm(&buf, boundary, fields, tc.filename, func(w io.Writer) error {
				_, err := io.WriteString(w, "the dist's bytes")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			mr := multipart.NewReader(&buf, boundary)
			var names []string
			for {
				p, err := mr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("the form does not parse: %v\n%s", err, buf.String())
				}
				names = append(names, p.FormName())
				if p.FormName() != "content" {
					continue
				}
				for k := range p.Header {
					if k != "Content-Disposition" && k != "Content-Type" {
						t.Errorf("the filename injected a header %s: %q", k, p.Header.Get(k))
					}
				}
				if ct := p.Header.Get("Content-Type"); ct != "application/octet-stream" {
					t.Errorf("Content-Type %q", ct)
				}
				if got := p.FileName(); got != tc.wantFilename {
					t.Errorf("filename %q, want %q", got, tc.wantFilename)
				}
				if body, _ := io.ReadAll(p); string(body) != "the dist's bytes" {
					t.Errorf("content %q", body)
				}
			}
			if got := strings.Join(names, ","); got != ":action,name,content" {
				t.Errorf("parts %s, want :action,name,content", got)
			}
		})
	}
}
