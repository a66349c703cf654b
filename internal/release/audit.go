package release

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/attest-publish/attest-publish/internal/audit"
)

// audit checks the calling workflow: findings are warnings, or errors that
// stop the run before signing when o.Strict. A workflow that cannot be
// read is a warning: the audit is advice, the verification is the gate.
func (p *pipeline) audit(o AuditOptions) error {
	rel, err := workflowPath(o.WorkflowRef, o.Repository)
	if err != nil {
		p.warn(Warning{Stage: StageAudit, Title: "attest-publish audit", Message: "the calling workflow was not audited: " + err.Error()})
		return nil
	}
	rep, err := audit.CheckFile(filepath.Join(o.Workspace, filepath.FromSlash(rel)))
	if err != nil {
		p.warn(Warning{Stage: StageAudit, File: rel, Title: "attest-publish audit", Message: "the calling workflow was not audited: " + err.Error()})
		return nil
	}
	rep.Path = rel
	p.res.Audit = rep
	p.h.Audited(rep, rel, o.Strict)
	if o.Strict && len(rep.Findings) > 0 {
		return fmt.Errorf("audit: strict: %d finding(s) in %s, nothing signed (fix them, or set audit: warn)", len(rep.Findings), rel)
	}
	return nil
}

// workflowPath turns GITHUB_WORKFLOW_REF (owner/repo/.github/workflows/
// x.yml@ref) into the workflow's path in the repository.
func workflowPath(ref, repository string) (string, error) {
	if ref == "" {
		return "", errors.New("GITHUB_WORKFLOW_REF is not set")
	}
	p, _, _ := strings.Cut(ref, "@")
	if repository != "" {
		p = strings.TrimPrefix(p, repository+"/")
	} else if parts := strings.SplitN(p, "/", 3); len(parts) == 3 {
		p = parts[2]
	}
	if !strings.HasPrefix(p, ".github/") || strings.Contains(p, "..") {
		return "", fmt.Errorf("GITHUB_WORKFLOW_REF %q does not name a workflow of %s", ref, repository)
	}
	return p, nil
}
