package imagefind

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
)

// Lister is the one Glance call a lookup makes: list images page by page.
// ListImages calls page with each page in order until page returns false or
// the pages end; the request is always a ListRequest. osapi.Glance is the real
// implementation.
type Lister interface {
	ListImages(ctx context.Context, req images.ListOptsBuilder, page func([]images.Image) (more bool)) error
}

// ProjectResolver turns an `owner` option into a project ID. Implementations
// return the value itself when it names no project they can see.
// osapi.Keystone is the real implementation.
type ProjectResolver interface {
	ProjectID(ctx context.Context, nameOrID string) (string, error)
}

// Finder looks images up. Projects is optional: without it `owner` is always
// taken as a project ID.
type Finder struct {
	Images   Lister
	Projects ProjectResolver
}

// Find looks up the one image q describes, without resolving owner names.
func Find(ctx context.Context, lister Lister, q Query) (*images.Image, error) {
	return Finder{Images: lister}.Find(ctx, q)
}

// Find returns the one image q describes. It fails with *InvalidQueryError when
// q is invalid, *NoMatchError when nothing matches and *AmbiguousError when
// several images match and q.MostRecent is false. Every page is read, except
// that with MostRecent the walk stops as soon as the images listed are older
// than the best match.
func (fd Finder) Find(ctx context.Context, q Query) (*images.Image, error) {
	if errs := q.Validate(""); len(errs) > 0 {
		return nil, &InvalidQueryError{Errors: errs}
	}
	owner := q.Filter.Owner
	if owner != "" && fd.Projects != nil {
		id, err := fd.Projects.ProjectID(ctx, owner)
		if err != nil {
			return nil, fmt.Errorf("resolving owner %q: %w", owner, err)
		}
		if id != owner {
			log.Printf("[DEBUG] glance-image: owner %q is project %s", owner, id)
		}
		owner = id
	}
	m, err := newMatcher(q.Filter, owner)
	if err != nil {
		return nil, err
	}
	req := m.listRequest(q)

	w := walk{m: m, mostRecent: q.newest(), keepListOrder: q.Sort != "", seen: map[string]bool{}}
	if err := fd.Images.ListImages(ctx, req, w.page); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	log.Printf("[DEBUG] glance-image: %d images listed, %d matched", w.listed, w.matched)

	switch {
	case w.matched == 0:
		return nil, &NoMatchError{Query: q, OwnerID: owner, Listed: w.listed, Rejected: w.rejected}
	case q.newest():
		return w.best, nil
	case w.matched > 1:
		return nil, &AmbiguousError{Count: w.matched, Candidates: w.candidates}
	}
	return w.best, nil
}

// maxCandidates bounds the images named in an AmbiguousError.
const maxCandidates = 10

// walk is the state of one lookup across pages.
type walk struct {
	m          *matcher
	mostRecent bool
	// keepListOrder names candidates in Glance's order (the user chose a sort)
	// instead of newest first.
	keepListOrder bool
	seen          map[string]bool

	listed, matched int
	rejected        []Rejection
	best            *images.Image
	candidates      []images.Image
}

func (w *walk) page(imgs []images.Image) bool {
	fresh := 0
	for i := range imgs {
		img := imgs[i]
		if w.seen[img.ID] {
			// Images created while the pages are read can repeat; count each once.
			continue
		}
		fresh++
		w.seen[img.ID] = true
		w.listed++
		// Sorted newest first: once an image is older than the best match, no
		// later image can beat it.
		if w.mostRecent && w.best != nil && img.CreatedAt.Before(w.best.CreatedAt) {
			return false
		}
		if reason := w.m.mismatch(&img); reason != "" {
			w.reject(reason)
			continue
		}
		w.matched++
		w.keepCandidate(img)
		if w.best == nil || (w.mostRecent && newer(&img, w.best)) {
			w.best = &img
		}
	}
	if len(imgs) > 0 && fresh == 0 {
		// A page of images already seen: a next link that goes round in circles.
		log.Printf("[WARN] glance-image: Glance served a page of images already listed; stopping the walk")
		return false
	}
	return true
}

// keepCandidate keeps maxCandidates matches for an ambiguity error: in the user's
// sort order when one was given, else the newest ones, ranked as most_recent ranks
// them, whatever order Glance listed them in.
func (w *walk) keepCandidate(img images.Image) {
	at := len(w.candidates)
	for i := range w.candidates {
		if !w.keepListOrder && newer(&img, &w.candidates[i]) {
			at = i
			break
		}
	}
	if at >= maxCandidates {
		return
	}
	w.candidates = append(w.candidates, images.Image{})
	copy(w.candidates[at+1:], w.candidates[at:])
	w.candidates[at] = img
	if len(w.candidates) > maxCandidates {
		w.candidates = w.candidates[:maxCandidates]
	}
}

func (w *walk) reject(option string) {
	for i := range w.rejected {
		if w.rejected[i].Option == option {
			w.rejected[i].Count++
			return
		}
	}
	w.rejected = append(w.rejected, Rejection{Option: option, Count: 1})
}

// newer reports whether a beats b for most_recent: later created_at, then the
// greater name, then the greater ID.
func newer(a, b *images.Image) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.After(b.CreatedAt)
	}
	if a.Name != b.Name {
		return a.Name > b.Name
	}
	return a.ID > b.ID
}

// InvalidQueryError lists what is wrong with a query.
type InvalidQueryError struct{ Errors []error }

func (e *InvalidQueryError) Error() string { return errors.Join(e.Errors...).Error() }
