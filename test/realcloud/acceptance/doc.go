// Package acceptance runs a real packer binary, with this plugin installed, against the real
// Keystone and Glance services of `make realcloud` (Debian 12's Keystone 22 and Glance 25 on
// 127.0.0.1): the glance-image data source, the glance-import post-processor and every way of
// authenticating.
//
// The tests run only when both PACKER_ACC and REALCLOUD_CLOUDS_YAML are set (`make
// realcloud-acceptance` sets them). They seed and check images through Glance's API with their
// own small HTTP client, independent of the plugin's code, and delete every image they create:
// names start with a per-run prefix, and what a test leaves behind is swept when it ends.
package acceptance
