package testcloud

// glanceSchemas returns the JSON schemas served under /v2/schemas. The glance CLI validates every image
// it reads and writes against the image schema, so it must accept everything this emulator returns:
// nullable core fields and free-form string properties.
func glanceSchemas() map[string]any {
	str := func(desc string) map[string]any { return map[string]any{"type": "string", "description": desc} }
	nullStr := func(desc string) map[string]any {
		return map[string]any{"type": []any{"null", "string"}, "description": desc}
	}
	nullInt := func(desc string) map[string]any {
		return map[string]any{"type": []any{"null", "integer"}, "description": desc}
	}
	ro := func(m map[string]any) map[string]any { m["readOnly"] = true; return m }
	enumNull := func(desc string, values []string) map[string]any {
		vals := []any{nil}
		for _, v := range values {
			vals = append(vals, v)
		}
		return map[string]any{"type": []any{"null", "string"}, "description": desc, "enum": vals}
	}
	imageProps := map[string]any{
		"id":                            map[string]any{"type": "string", "description": "An identifier for the image", "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"},
		"name":                          nullStr("Descriptive name for the image"),
		"status":                        ro(map[string]any{"type": "string", "description": "Status of the image", "enum": []any{"queued", "saving", "active", "killed", "deleted", "uploading", "importing", "pending_delete", "deactivated"}}),
		"visibility":                    map[string]any{"type": "string", "description": "Scope of image accessibility", "enum": []any{"community", "public", "private", "shared"}},
		"protected":                     map[string]any{"type": "boolean", "description": "If true, image will not be deletable."},
		"os_hidden":                     map[string]any{"type": "boolean", "description": "If true, image will not appear in default image list response."},
		"checksum":                      ro(nullStr("md5 hash of image contents.")),
		"os_hash_algo":                  ro(nullStr("Algorithm to calculate the os_hash_value")),
		"os_hash_value":                 ro(nullStr("Hexdigest of the image contents using the algorithm specified by the os_hash_algo")),
		"owner":                         nullStr("Owner of the image"),
		"size":                          ro(nullInt("Size of image file in bytes")),
		"virtual_size":                  ro(nullInt("Virtual size of image in bytes")),
		"container_format":              enumNull("Format of the container", validContainerFormats),
		"disk_format":                   enumNull("Format of the disk", validDiskFormats),
		"created_at":                    ro(str("Date and time of image registration")),
		"updated_at":                    ro(str("Date and time of the last image modification")),
		"tags":                          map[string]any{"type": "array", "description": "List of strings related to the image", "items": map[string]any{"type": "string", "maxLength": 255}},
		"direct_url":                    ro(str("URL to access the image file kept in external store")),
		"min_ram":                       map[string]any{"type": "integer", "description": "Amount of ram (in MB) required to boot image."},
		"min_disk":                      map[string]any{"type": "integer", "description": "Amount of disk space (in GB) required to boot image."},
		"self":                          ro(str("An image self url")),
		"file":                          ro(str("An image file url")),
		"stores":                        ro(str("Store in which image data resides.  Only present when the operator has enabled multiple stores.")),
		"schema":                        ro(str("An image schema url")),
		"locations":                     map[string]any{"type": "array", "description": "A set of URLs to access the image file kept in external store", "items": map[string]any{"type": "object"}},
		"os_glance_import_task":         ro(str("Import task lock")),
		"os_glance_importing_to_stores": ro(str("Stores still being imported to")),
		"os_glance_failed_import":       ro(str("Stores that failed to import")),
	}
	image := map[string]any{
		"name": "image", "properties": imageProps,
		"additionalProperties": map[string]any{"type": "string"},
		"links": []any{
			map[string]any{"rel": "self", "href": "{self}"},
			map[string]any{"rel": "enclosure", "href": "{file}"},
			map[string]any{"rel": "describedby", "href": "{schema}"},
		},
	}
	member := map[string]any{
		"name": "member",
		"properties": map[string]any{
			"created_at": str("Date and time of image member creation"),
			"image_id":   str("An identifier for the image"),
			"member_id":  str("An identifier for the image member (tenantId)"),
			"status":     map[string]any{"type": "string", "description": "The status of this image member", "enum": []any{"pending", "accepted", "rejected"}},
			"updated_at": str("Date and time of last modification of image member"),
			"schema":     ro(str("An image member schema url")),
		},
	}
	return map[string]any{
		"image":   image,
		"images":  map[string]any{"name": "images", "properties": map[string]any{"images": map[string]any{"type": "array", "items": image}, "schema": str(""), "first": str(""), "next": str("")}, "links": []any{map[string]any{"rel": "first", "href": "{first}"}, map[string]any{"rel": "next", "href": "{next}"}, map[string]any{"rel": "describedby", "href": "{schema}"}}},
		"member":  member,
		"members": map[string]any{"name": "members", "properties": map[string]any{"members": map[string]any{"type": "array", "items": member}, "schema": str("")}, "links": []any{map[string]any{"rel": "describedby", "href": "{schema}"}}},
		"task":    map[string]any{"name": "task", "properties": map[string]any{"id": str(""), "type": str(""), "status": str(""), "message": str("")}, "additionalProperties": true},
		"tasks":   map[string]any{"name": "tasks", "properties": map[string]any{"tasks": map[string]any{"type": "array"}}},
	}
}
