package imagepolicy

import (
	"fmt"
	"net/http"

	"github.com/gophercloud/gophercloud/v2"
)

// ExplainVisibilityRefusal adds advice to a 403 that Glance gave while asked to
// make an image public: by default only cloud administrators may publicize an
// image (policy publicize_image), and Glance's own text does not say what to do.
// Any other error is returned unchanged.
func ExplainVisibilityRefusal(err error, visibility string) error {
	if err == nil || visibility != "public" || !gophercloud.ResponseCodeIs(err, http.StatusForbidden) {
		return err
	}
	return fmt.Errorf("%w (making an image public usually needs a cloud administrator's role, Glance policy "+
		"publicize_image: use visibility \"community\" or \"shared\", or credentials allowed to publish)", err)
}

func isNotFound(err error) bool  { return gophercloud.ResponseCodeIs(err, http.StatusNotFound) }
func isForbidden(err error) bool { return gophercloud.ResponseCodeIs(err, http.StatusForbidden) }
