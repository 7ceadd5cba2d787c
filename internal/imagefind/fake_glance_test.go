package imagefind

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// fakeGlance is an in-memory Lister that filters, sorts and pages the way
// Glance does, and records every request and page it serves.
type fakeGlance struct {
	project string            // the caller's project
	members map[string]string // image ID -> the caller's membership status
	images  []images.Image

	// ignoreFilters makes the fake return every image, as a cloud that
	// ignores filters would: the client-side checks must still hold.
	ignoreFilters bool
	err           error // returned by ListImages when set

	requests []ListRequest
	pages    int // pages served
}

func (g *fakeGlance) ListImages(ctx context.Context, opts images.ListOptsBuilder, page func([]images.Image) bool) error {
	req := opts.(ListRequest)
	g.requests = append(g.requests, req)
	if g.err != nil {
		return g.err
	}
	var out []images.Image
	for _, img := range g.images {
		if g.ignoreFilters || g.visible(img, req) {
			out = append(out, img)
		}
	}
	g.sort(out, req.Sort)
	limit := req.Limit
	if limit <= 0 {
		limit = 25
	}
	for start := 0; start < len(out); start += limit {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(start+limit, len(out))
		g.pages++
		if !page(out[start:end]) {
			return nil
		}
	}
	return nil
}

// visible applies Glance's server-side filters.
func (g *fakeGlance) visible(img images.Image, r ListRequest) bool {
	memberStatus := r.MemberStatus
	if memberStatus == "" {
		memberStatus = "accepted"
	}
	vis := string(img.Visibility)
	own := img.Owner == g.project
	switch r.Visibility {
	case "":
		if vis == "community" && !own {
			return false
		}
	case "all":
	default:
		if vis != r.Visibility {
			return false
		}
	}
	switch vis {
	case "private":
		if !own {
			return false
		}
	case "shared":
		if !own {
			st, ok := g.members[img.ID]
			if !ok || (memberStatus != "all" && st != memberStatus) {
				return false
			}
		}
	}
	eq := func(want, got string) bool { return want == "" || want == got }
	if !eq(r.Name, img.Name) || !eq(r.Owner, img.Owner) || !eq(r.Status, string(img.Status)) ||
		!eq(r.ContainerFormat, img.ContainerFormat) || !eq(r.DiskFormat, img.DiskFormat) {
		return false
	}
	if img.Hidden != r.Hidden {
		return false
	}
	if (r.SizeMin > 0 && img.SizeBytes < r.SizeMin) || (r.SizeMax > 0 && img.SizeBytes > r.SizeMax) {
		return false
	}
	for _, t := range r.Tags {
		if !contains(img.Tags, t) {
			return false
		}
	}
	for k, v := range r.Properties {
		if s, ok := img.Properties[k].(string); !ok || s != v {
			return false
		}
	}
	return true
}

// sort orders images like Glance: the requested keys, then created_at and id,
// descending unless asked otherwise.
func (g *fakeGlance) sort(imgs []images.Image, spec string) {
	type key struct {
		name string
		desc bool
	}
	var keys []key
	if spec != "" {
		for _, part := range strings.Split(spec, ",") {
			k, dir, _ := strings.Cut(part, ":")
			keys = append(keys, key{k, dir != "asc"})
		}
	}
	keys = append(keys, key{"created_at", true}, key{"id", true})
	field := func(img images.Image, k string) string {
		switch k {
		case "name":
			return img.Name
		case "id":
			return img.ID
		case "created_at":
			return img.CreatedAt.UTC().Format(time.RFC3339Nano)
		case "status":
			return string(img.Status)
		case "size":
			return fmt.Sprintf("%020d", img.SizeBytes)
		}
		panic("fake cannot sort by " + k)
	}
	sort.SliceStable(imgs, func(i, j int) bool {
		for _, k := range keys {
			a, b := field(imgs[i], k.name), field(imgs[j], k.name)
			if a == b {
				continue
			}
			if k.desc {
				return a > b
			}
			return a < b
		}
		return false
	})
}

// base is the creation time of the test images: image n is created n hours later.
var base = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// img makes an active, public, visible qcow2 image created `hour` hours after base.
func img(id, name string, hour int, opts ...func(*images.Image)) images.Image {
	i := images.Image{
		ID: id, Name: name, Status: images.ImageStatusActive, Visibility: images.ImageVisibilityPublic,
		Owner: "admin-project", ContainerFormat: "bare", DiskFormat: "qcow2", SizeBytes: 1000,
		CreatedAt: base.Add(time.Duration(hour) * time.Hour), UpdatedAt: base.Add(time.Duration(hour) * time.Hour),
		Properties: map[string]any{},
	}
	for _, o := range opts {
		o(&i)
	}
	return i
}

func withProps(kv ...string) func(*images.Image) {
	return func(i *images.Image) {
		for n := 0; n+1 < len(kv); n += 2 {
			i.Properties[kv[n]] = kv[n+1]
		}
	}
}

func withTags(tags ...string) func(*images.Image) {
	return func(i *images.Image) { i.Tags = tags }
}
