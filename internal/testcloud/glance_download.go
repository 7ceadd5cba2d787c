package testcloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// glanceDownloadProperties are the properties glance-download copies from the remote image, as
// Glance's [glance_download_properties] extra_properties default lists them (prefixes).
var glanceDownloadProperties = []string{"hw_", "trait:", "os_distro", "os_secure_boot", "os_type"}

// glancePull is what a glance-download import pulls: a remote image named by region, ID and catalog
// interface, read with the token of the user who started the import.
type glancePull struct {
	region, imageID, iface string
	caller                 *reqCtx
	// before is the image as it was before the metadata step changed it, for the revert.
	before *pulledMeta
}

type pulledMeta struct {
	diskFormat, containerFormat string
	properties                  map[string]string
}

// revert undoes the metadata step, as Glance's _ImportMetadata.revert does. Called under c.mu.
func (p *glancePull) revert(img *image) {
	img.DiskFormat, img.ContainerFormat = p.before.diskFormat, p.before.containerFormat
	img.Properties = p.before.properties
	p.before = nil
}

// looksLikeUUID accepts what Python's uuid.UUID accepts: 32 hex digits, with or without hyphens,
// braces or a urn:uuid: prefix.
func looksLikeUUID(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "urn:"), "uuid:")
	s = strings.Trim(s, "{}")
	s = strings.ReplaceAll(s, "-", "")
	if len(s) != 32 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// glanceDownloadData runs Glance 2023.1's glance-download steps for job j: _ImportMetadata (read the
// remote image with the caller's token through the catalog's Glance of that region and interface;
// it must be active; copy its disk and container format and the glance_download_properties onto
// the image) and _DownloadGlanceImage (fetch its data through the web-download URI filter, with the
// caller's token, and check the size). Both go over HTTP to this cloud, so the source region's
// faults and policies apply.
func (c *Cloud) glanceDownloadData(ctx context.Context, j importJob) (string, hashedData, error) {
	p := j.pull
	base, err := c.remoteGlance(p.region, p.iface)
	if err != nil {
		return "", hashedData{}, err
	}
	meta, err := c.remoteGet(ctx, p.caller.tok.id, base+"/v2/images/"+p.imageID)
	if err != nil {
		return "", hashedData{}, err
	}
	defer meta.Body.Close()
	if meta.StatusCode != http.StatusOK {
		return "", hashedData{}, fmt.Errorf("HTTP Error %d: %s", meta.StatusCode, http.StatusText(meta.StatusCode))
	}
	var remote map[string]any
	if err := json.NewDecoder(meta.Body).Decode(&remote); err != nil {
		return "", hashedData{}, fmt.Errorf("remote image metadata: %w", err)
	}
	if st, _ := remote["status"].(string); st != "active" {
		return "", hashedData{}, fmt.Errorf("Source image status should be active instead of %s", st)
	}
	size, ok := remote["size"].(float64)
	if !ok {
		return "", hashedData{}, fmt.Errorf("Size attribute of remote image %s could not be determined.", p.imageID)
	}

	c.mu.Lock()
	img := j.img
	if j.reg.images[img.ID] != img {
		c.mu.Unlock()
		return "", hashedData{}, errors.New("Image was deleted during import")
	}
	p.before = &pulledMeta{diskFormat: img.DiskFormat, containerFormat: img.ContainerFormat, properties: maps.Clone(img.Properties)}
	img.DiskFormat, _ = remote["disk_format"].(string)
	img.ContainerFormat, _ = remote["container_format"].(string)
	for k, v := range remote {
		s, isString := v.(string)
		for _, prefix := range glanceDownloadProperties {
			if isString && strings.HasPrefix(k, prefix) {
				if img.Properties == nil {
					img.Properties = map[string]string{}
				}
				img.Properties[k] = s
			}
		}
	}
	img.touch()
	c.mu.Unlock()

	fileURL := base + "/v2/images/" + p.imageID + "/file"
	if err := c.checkGlanceDownloadURI(fileURL); err != nil {
		return "", hashedData{}, err
	}
	data, err := c.remoteGet(ctx, p.caller.tok.id, fileURL)
	if err != nil {
		return "", hashedData{}, err
	}
	defer data.Body.Close()
	if data.StatusCode != http.StatusOK {
		return "", hashedData{}, fmt.Errorf("HTTP Error %d: %s", data.StatusCode, http.StatusText(data.StatusCode))
	}
	path, h, err := c.receiveData(j.reg.imagePath(img.ID)+".download", data.Body, true)
	if err != nil {
		return "", hashedData{}, fmt.Errorf("glance-download of %s: %w", fileURL, err)
	}
	if h.size != int64(size) {
		removeData(path)
		return "", hashedData{}, fmt.Errorf("Task %s failed because downloaded data size %d is different from expected %d", j.task.ID, h.size, int64(size))
	}
	if path == "" {
		return "", h, nil
	}
	final := j.reg.imagePath(img.ID)
	if err := os.Rename(path, final); err != nil {
		_ = os.Remove(path)
		return "", hashedData{}, fmt.Errorf("store downloaded data: %w", err)
	}
	return final, h, nil
}

// remoteGlance finds the image endpoint of region and interface in the catalog, as Glance's
// get_glance_endpoint does.
func (c *Cloud) remoteGlance(region, iface string) (string, error) {
	c.mu.Lock()
	_, known := c.regions[region]
	c.mu.Unlock()
	if !known || !contains(serviceInterfaces, iface) {
		return "", fmt.Errorf("Failed to find glance endpoint for region %s with interface %s", region, iface)
	}
	return c.serviceURL(region, iface, "image"), nil
}

// checkGlanceDownloadURI applies the web-download URI filter to the processed glance-download URL.
// The cloud's own port counts as allowed, as it must on a cloud whose operator enabled
// glance-download.
func (c *Cloud) checkGlanceDownloadURI(raw string) error {
	refused := fmt.Errorf("Processed URI for glance-download does not pass filtering: %s", raw)
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return refused
	}
	if u.Port() == strconv.Itoa(c.port()) && (u.Scheme == "http" || u.Scheme == "https") &&
		(c.opts.AllowAnyWebDownloadHost || contains(c.opts.WebDownloadAllowedHosts, u.Hostname())) {
		return nil
	}
	if c.checkWebDownloadURI(raw) != nil {
		return refused
	}
	return nil
}

// port is the port of the cloud's HTTP listener.
func (c *Cloud) port() int {
	if a, ok := c.ln.Addr().(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

// remoteGet makes one GET with a user's token, as Glance's urllib requests do.
func (c *Cloud) remoteGet(ctx context.Context, token, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Auth-Token", token)
	client := &http.Client{Timeout: 10 * time.Minute, Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("<urlopen error %v>", err)
	}
	return resp, nil
}
