package audit

import (
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// workflow is the part of a workflow file the rules look at, as YAML nodes
// so that findings keep their line numbers.
type workflow struct {
	root        *yaml.Node // the top-level mapping
	lines       []string   // the file's lines, to place findings inside folded scalars
	onKey, on   *yaml.Node // on: (nil when absent)
	permKey     *yaml.Node // top-level permissions: key (nil when absent)
	permissions *yaml.Node
	jobs        []*job
}

// job is one entry of jobs:.
type job struct {
	id          string
	key         *yaml.Node // the job id's key node
	node        *yaml.Node // the job's mapping
	usesKey     *yaml.Node // uses: of a reusable-workflow call
	uses        *yaml.Node
	permKey     *yaml.Node
	permissions *yaml.Node
	envKey      *yaml.Node
	environment *yaml.Node
	steps       []*yaml.Node // each a mapping
}

func parseWorkflow(root *yaml.Node) (*workflow, error) {
	w := &workflow{root: root}
	w.onKey, w.on = lookup(root, "on")
	w.permKey, w.permissions = lookup(root, "permissions")
	jobsKey, jobs := lookup(root, "jobs")
	if jobs == nil {
		return nil, errNoJobs
	}
	if jobs.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: jobs: must be a mapping of job ids to jobs", jobsKey.Line)
	}
	for _, p := range pairs(jobs) {
		j := &job{id: p.key.Value, key: p.key, node: p.value}
		if j.node.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("line %d: job %s must be a mapping", p.key.Line, j.id)
		}
		j.usesKey, j.uses = lookup(j.node, "uses")
		j.permKey, j.permissions = lookup(j.node, "permissions")
		j.envKey, j.environment = lookup(j.node, "environment")
		if _, steps := lookup(j.node, "steps"); steps != nil && steps.Kind == yaml.SequenceNode {
			for _, s := range steps.Content {
				if s = deref(s); s.Kind == yaml.MappingNode {
					j.steps = append(j.steps, s)
				}
			}
		}
		w.jobs = append(w.jobs, j)
	}
	return w, nil
}

// kv is one key/value pair of a mapping.
type kv struct{ key, value *yaml.Node }

// deref follows aliases (*anchor) to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// pairs lists a mapping's entries in order. Merge keys (<<:) have already
// been expanded by expandMerges, so it only reads m's content.
func pairs(m *yaml.Node) []kv {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	out := make([]kv, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		out = append(out, kv{m.Content[i], deref(m.Content[i+1])})
	}
	return out
}

// Bounds on what a workflow file may make the audit do. A few-KB file can
// name an anchor from itself or merge the same anchor many times at every
// level; these keep the audit linear in the file's size.
const (
	// maxMergedEntries caps the key/value pairs that merge keys may add
	// across the whole document.
	maxMergedEntries = 1 << 16
)

// errMergeCycle is returned for a mapping that merges itself, directly or
// through other mappings.
var errMergeCycle = errors.New("a YAML merge key (<<:) refers to the mapping it is in, directly or through other merges")

// merger expands merge keys in place, each mapping once.
type merger struct {
	state map[*yaml.Node]int // 1 while a mapping is being expanded, 2 once done
	added int                // pairs added by merges so far
}

// expandMerges rewrites every mapping reachable from n that has merge keys
// into the plain mapping YAML defines (explicit keys win over merged ones,
// earlier merge sources over later ones), so that the rules never recurse
// into merges. Each node is visited once, aliases included, so the work is
// linear in the document; a merge cycle or more than maxMergedEntries merged
// pairs is an error. GitHub itself rejects merge keys, so a real workflow
// has none: this keeps the audit bounded on files crafted to hang it.
func expandMerges(n *yaml.Node) error {
	m := &merger{state: map[*yaml.Node]int{}}
	return m.walk(n)
}

// walk expands every mapping under n, each node once.
func (m *merger) walk(n *yaml.Node) error {
	n = deref(n)
	if n == nil || m.state[n] == 2 {
		return nil
	}
	if n.Kind == yaml.MappingNode {
		if err := m.expand(n); err != nil {
			return err
		}
	} else {
		m.state[n] = 2
	}
	for _, c := range n.Content {
		if err := m.walk(c); err != nil {
			return err
		}
	}
	return nil
}

// expand replaces the merge keys of mapping n by the pairs they merge.
func (m *merger) expand(n *yaml.Node) error {
	switch m.state[n] {
	case 1:
		return fmt.Errorf("line %d: %w", n.Line, errMergeCycle)
	case 2:
		return nil
	}
	m.state[n] = 1
	var own, merged []*yaml.Node
	seen := map[string]bool{}
	hasMerge := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.Tag == "!!merge" {
			hasMerge = true
			v = deref(v)
			srcs := []*yaml.Node{v}
			if v != nil && v.Kind == yaml.SequenceNode {
				srcs = v.Content
			}
			for _, s := range srcs {
				if s = deref(s); s == nil || s.Kind != yaml.MappingNode {
					continue
				}
				if err := m.expand(s); err != nil {
					return err
				}
				merged = append(merged, s.Content...)
			}
			continue
		}
		seen[k.Value] = true
		own = append(own, k, v)
	}
	if hasMerge {
		for i := 0; i+1 < len(merged); i += 2 {
			if k := merged[i]; !seen[k.Value] {
				seen[k.Value] = true
				own = append(own, k, merged[i+1])
				if m.added++; m.added > maxMergedEntries {
					return fmt.Errorf("line %d: YAML merge keys (<<:) expand to more than %d entries; "+
						"GitHub does not support merge keys, write the keys out", n.Line, maxMergedEntries)
				}
			}
		}
		n.Content = own
	}
	m.state[n] = 2
	return nil
}

// lookup returns the key and value nodes of key in mapping m, or nils.
func lookup(m *yaml.Node, key string) (k, v *yaml.Node) {
	for _, p := range pairs(m) {
		if p.key.Value == key {
			return p.key, p.value
		}
	}
	return nil, nil
}

// scalar returns the value of n when it is a scalar, else "".
func scalar(n *yaml.Node) string {
	if n = deref(n); n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}
