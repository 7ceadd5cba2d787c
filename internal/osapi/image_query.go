package osapi

import (
	"net/url"
	"strconv"
	"strings"
)

// ImageQuery is a Glance image list request: the filters Glance applies
// exactly, as values (not yet encoded). Callers leave out what it cannot
// express safely (see EqFilterValue, ServerSideProperty) and check that on the
// client.
type ImageQuery struct {
	Name            string
	Owner           string
	Visibility      string
	Tags            []string
	Properties      map[string]string
	ContainerFormat string
	DiskFormat      string
	MemberStatus    string
	Hidden          bool
	Status          string
	SizeMin         int64
	SizeMax         int64
	Sort            string
	Limit           int
}

// ToImageListQuery renders the request as Glance's query string (it implements
// gophercloud's images.ListOptsBuilder). Values are URL-encoded; values of
// attributes Glance parses for an operator (`in:`, `eq:`) are quoted when they
// contain a colon, see EqFilterValue.
func (r ImageQuery) ToImageListQuery() (string, error) {
	v := url.Values{}
	set := func(key, value string) {
		if value != "" {
			v.Set(key, value)
		}
	}
	// Callers only put values here that EqFilterValue can encode.
	eq := func(key, value string) {
		if value == "" {
			return
		}
		if enc, ok := EqFilterValue(value); ok {
			v.Set(key, enc)
		}
	}
	eq("name", r.Name)
	eq("status", r.Status)
	eq("container_format", r.ContainerFormat)
	eq("disk_format", r.DiskFormat)
	set("owner", r.Owner)
	set("visibility", r.Visibility)
	set("member_status", r.MemberStatus)
	set("sort", r.Sort)
	for _, t := range r.Tags {
		v.Add("tag", t)
	}
	for k, val := range r.Properties {
		v.Set(k, val)
	}
	// Glance leaves hidden images out unless asked; sending os_hidden=false
	// would be a property filter on clouds older than Rocky, so it is only sent
	// when true.
	if r.Hidden {
		v.Set("os_hidden", "true")
	}
	if r.SizeMin > 0 {
		v.Set("size_min", strconv.FormatInt(r.SizeMin, 10))
	}
	if r.SizeMax > 0 {
		v.Set("size_max", strconv.FormatInt(r.SizeMax, 10))
	}
	if r.Limit > 0 {
		v.Set("limit", strconv.Itoa(r.Limit))
	}
	if len(v) == 0 {
		return "", nil
	}
	return "?" + v.Encode(), nil
}

// EqFilterValue encodes an exact-match value for the attributes Glance parses
// as `operator:value` (name, id, status, container_format, disk_format).
// Glance splits such a value at its first colon and takes the left part as the
// operator, so a name like "debian:12" would be refused as an unknown operator.
// A value with a colon is therefore sent as a one-element `in:` list, quoted so
// commas inside it are kept. Glance's quote parser cannot carry a double quote,
// nor a backslash right before the closing quote: such values are not sent
// (ok=false) and are matched on the client only.
func EqFilterValue(value string) (encoded string, ok bool) {
	if !strings.Contains(value, ":") {
		return value, true
	}
	if strings.Contains(value, `"`) || strings.HasSuffix(value, `\`) {
		return "", false
	}
	return `in:"` + value + `"`, true
}

// queryKeys are query parameters Glance reads as something other than a
// property filter; a property with such a key cannot be filtered on the
// server.
var queryKeys = map[string]bool{
	"limit": true, "marker": true, "member_status": true, "tag": true, "sort": true,
	"sort_key": true, "sort_dir": true, "visibility": true, "changes-since": true,
	"os_hidden": true, "protected": true, "properties": true, "deleted": true,
	"tags": true, "name": true, "id": true, "status": true, "container_format": true,
	"disk_format": true, "created_at": true, "updated_at": true, "owner": true,
	"size": true, "virtual_size": true, "min_disk": true, "min_ram": true,
	"checksum": true, "is_public": true, "deleted_at": true,
}

// ServerSideProperty reports whether Glance treats ?key=value as "property key
// equals value". Keys ending in _min or _max are read as ranges on an image
// column; reserved keys mean something else.
func ServerSideProperty(key string) bool {
	if queryKeys[key] {
		return false
	}
	if strings.HasSuffix(key, "_min") || strings.HasSuffix(key, "_max") {
		return false
	}
	return true
}
