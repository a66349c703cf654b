package audit

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// workflow is the part of a workflow file the rules look at, as YAML nodes
// so that findings keep their line numbers.
type workflow struct {
	root        *yaml.Node // the top-level mapping
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

// pairs lists a mapping's entries in order, expanding merge keys (<<:) the
// way YAML does: explicit keys win over merged ones.
func pairs(m *yaml.Node) []kv {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	var out, merged []kv
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], deref(m.Content[i+1])
		if k.Value == "<<" && k.Tag == "!!merge" {
			srcs := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				srcs = v.Content
			}
			for _, s := range srcs {
				merged = append(merged, pairs(s)...)
			}
			continue
		}
		seen[k.Value] = true
		out = append(out, kv{k, v})
	}
	for _, p := range merged {
		if !seen[p.key.Value] {
			seen[p.key.Value] = true
			out = append(out, p)
		}
	}
	return out
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
