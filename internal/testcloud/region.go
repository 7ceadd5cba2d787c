package testcloud

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// region holds the per-region state of every service. Everything is guarded by Cloud.mu.
type region struct {
	name string
	dir  string

	// Glance
	images map[string]*image
	tasks  map[string]*task

	// Nova
	flavors  map[string]*flavor
	servers  map[string]*server
	keypairs map[string]*keypair // by owner user ID + "/" + name

	// Neutron
	networks  map[string]*network
	subnets   map[string]*subnet
	ports     map[string]*port
	fips      map[string]*floatingIP
	secgroups map[string]*secGroup
	rules     map[string]*secRule

	// Cinder
	volumes map[string]*volume
}

func (c *Cloud) newRegion(name string) (*region, error) {
	dir := filepath.Join(c.dataDir, name)
	for _, sub := range []string{"images", "staging", "disks"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("testcloud: region %s: %w", name, err)
		}
	}
	return &region{
		name: name, dir: dir,
		images: map[string]*image{}, tasks: map[string]*task{},
		flavors: map[string]*flavor{}, servers: map[string]*server{}, keypairs: map[string]*keypair{},
		networks: map[string]*network{}, subnets: map[string]*subnet{}, ports: map[string]*port{},
		fips: map[string]*floatingIP{}, secgroups: map[string]*secGroup{}, rules: map[string]*secRule{},
		volumes: map[string]*volume{},
	}, nil
}

func (reg *region) sortedTasks() []*task {
	out := make([]*task, 0, len(reg.tasks))
	for _, t := range reg.tasks {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out
}

type notFoundError struct{ kind, id string }

func (e notFoundError) Error() string { return fmt.Sprintf("testcloud: no %s %s", e.kind, e.id) }

func errNotFound(kind, id string) error { return notFoundError{kind, id} }
