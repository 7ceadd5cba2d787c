package imagefind

import "github.com/packer-glance/packer-plugin-glance/internal/osapi"

// ListRequest is the server-side part of a lookup: the Glance list query Find
// builds and a Lister sends. Everything it cannot express safely is left out
// and checked on the client only.
type ListRequest = osapi.ImageQuery
