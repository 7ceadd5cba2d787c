package osapi

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/packer-glance/packer-plugin-glance/internal/retry"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// looksLikeID says whether a name-or-ID value should first be tried as an ID.
func looksLikeID(s string) bool { return uuidPattern.MatchString(s) }

// pickOne turns the result of a name lookup into one ID or a clear error.
func pickOne(kind, name string, ids []string) (string, error) {
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("no %s named or with ID %q", kind, name)
	case 1:
		return ids[0], nil
	default:
		return "", fmt.Errorf("%d %ss are named %q: use the ID of the one you mean (%s)", len(ids), kind, name, strings.Join(ids, ", "))
	}
}

// deleteOnce runs a DELETE. A 404 after a retried attempt counts as done: the
// earlier attempt went through although its answer was lost or an error. A 404
// at the first attempt is returned, so callers still see "it was never there".
func deleteOnce(ctx context.Context, del func(context.Context) error) error {
	tracked, attempts := retry.Track(ctx)
	err := del(tracked)
	if IsNotFound(err) && attempts.Retried() {
		return nil
	}
	return err
}
