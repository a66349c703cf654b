package localstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// fulcioConfig returns Fulcio's issuer configuration (JSON form): the local
// issuer as a GitHub Actions issuer and its /gitlab sub-issuer as a GitLab
// issuer, both through the production-style ci-provider templates, so the
// certificates carry the same extensions (OIDs 1.3.6.1.4.1.57264.1.2-1.23)
// as real GitHub/GitLab ones.
func fulcioConfig() ([]byte, error) {
	type issuer struct {
		IssuerURL  string
		ClientID   string
		Type       string
		CIProvider string
	}
	type metadata struct {
		DefaultTemplateValues          map[string]string
		ExtensionTemplates             map[string]string
		SubjectAlternativeNameTemplate string
	}
	cfg := struct {
		OIDCIssuers      map[string]issuer
		CIIssuerMetadata map[string]metadata
	}{
		OIDCIssuers: map[string]issuer{
			OIDCIssuerURL:             {IssuerURL: OIDCIssuerURL, ClientID: "sigstore", Type: "ci-provider", CIProvider: "github-workflow"},
			OIDCIssuerURL + "/gitlab": {IssuerURL: OIDCIssuerURL + "/gitlab", ClientID: "sigstore", Type: "ci-provider", CIProvider: "gitlab-pipeline"},
		},
		CIIssuerMetadata: map[string]metadata{
			"github-workflow": {
				DefaultTemplateValues: map[string]string{"url": "https://github.com", "environment": ""},
				ExtensionTemplates: map[string]string{
					"GithubWorkflowTrigger":               "event_name",
					"GithubWorkflowSHA":                   "sha",
					"GithubWorkflowName":                  "workflow",
					"GithubWorkflowRepository":            "repository",
					"GithubWorkflowRef":                   "ref",
					"BuildSignerURI":                      "{{ .url }}/{{ .job_workflow_ref }}",
					"BuildSignerDigest":                   "job_workflow_sha",
					"RunnerEnvironment":                   "runner_environment",
					"SourceRepositoryURI":                 "{{ .url }}/{{ .repository }}",
					"SourceRepositoryDigest":              "sha",
					"SourceRepositoryRef":                 "ref",
					"SourceRepositoryIdentifier":          "repository_id",
					"SourceRepositoryOwnerURI":            "{{ .url }}/{{ .repository_owner }}",
					"SourceRepositoryOwnerIdentifier":     "repository_owner_id",
					"BuildConfigURI":                      "{{ .url }}/{{ .workflow_ref }}",
					"BuildConfigDigest":                   "workflow_sha",
					"BuildTrigger":                        "event_name",
					"RunInvocationURI":                    "{{ .url }}/{{ .repository }}/actions/runs/{{ .run_id }}/attempts/{{ .run_attempt }}",
					"SourceRepositoryVisibilityAtSigning": "repository_visibility",
					"DeploymentEnvironment":               "environment",
				},
				SubjectAlternativeNameTemplate: "{{ .url }}/{{ .job_workflow_ref }}",
			},
			"gitlab-pipeline": {
				DefaultTemplateValues: map[string]string{"url": "https://gitlab.com", "environment": ""},
				ExtensionTemplates: map[string]string{
					"BuildSignerURI":                      "https://{{ .ci_config_ref_uri }}",
					"BuildSignerDigest":                   "ci_config_sha",
					"RunnerEnvironment":                   "runner_environment",
					"SourceRepositoryURI":                 "{{ .url }}/{{ .project_path }}",
					"SourceRepositoryDigest":              "sha",
					"SourceRepositoryRef":                 `refs/{{if eq .ref_type "branch"}}heads/{{ else }}tags/{{end}}{{ .ref }}`,
					"SourceRepositoryIdentifier":          "project_id",
					"SourceRepositoryOwnerURI":            "{{ .url }}/{{ .namespace_path }}",
					"SourceRepositoryOwnerIdentifier":     "namespace_id",
					"BuildConfigURI":                      "https://{{ .ci_config_ref_uri }}",
					"BuildConfigDigest":                   "ci_config_sha",
					"BuildTrigger":                        "pipeline_source",
					"RunInvocationURI":                    "{{ .url }}/{{ .project_path }}/-/jobs/{{ .job_id }}",
					"SourceRepositoryVisibilityAtSigning": "project_visibility",
					"DeploymentEnvironment":               "environment",
				},
				SubjectAlternativeNameTemplate: "https://{{ .ci_config_ref_uri }}",
			},
		},
	}
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding fulcio config: %w", err)
	}
	return out, nil
}

// fetchFulcioChain returns Fulcio's (ephemeral) CA chain as PEM, in the order
// of /api/v2/trustBundle (leaf-most first, root last).
func fetchFulcioChain() ([]byte, error) {
	body, err := httpGet(FulcioURL + "/api/v2/trustBundle")
	if err != nil {
		return nil, fmt.Errorf("fetching fulcio trust bundle: %w", err)
	}
	var tb struct {
		Chains []struct {
			Certificates []string `json:"certificates"`
		} `json:"chains"`
	}
	if err := json.Unmarshal(body, &tb); err != nil {
		return nil, fmt.Errorf("parsing fulcio trust bundle: %w", err)
	}
	if len(tb.Chains) == 0 || len(tb.Chains[0].Certificates) == 0 {
		return nil, fmt.Errorf("fulcio trust bundle is empty")
	}
	var buf bytes.Buffer
	for _, c := range tb.Chains[0].Certificates {
		buf.WriteString(strings.TrimSpace(c) + "\n")
	}
	return buf.Bytes(), nil
}

// httpGet returns the body of a 200 response to GET url.
func httpGet(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return body, nil
}

// writeFile writes data to path, wrapping errors with the path.
func writeFile(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
