# glance-import post-processor: test tools and the import benchmark.

# The xz and bzip2 tools speed up decompression (the engine falls back to Go
# without them); the tests make bzip2 data with the tool.
TEST_PACKAGES += bzip2 xz-utils zstd

.PHONY: bench-import bench-decompress bench-copy

# Wall time of the plugin's import against `openstack image create --file` and a
# raw `curl -T` PUT on the same file and cloud, plus compressed-URL imports against
# the overlapped C-tools pipe (curl URL | xz -dc | curl -T -) and the shell way
# (curl | xz -d > f; openstack image create --file f); each case BENCH_RUNS times
# (default 3), medians and ratios. BENCH_SIZE_MIB sets the image size (default
# 1024). BENCH_CLOUDS_YAML/BENCH_CLOUD point it at a real cloud instead of the test
# cloud. See bench/README.md.
bench-import:
	scripts/apt-install.sh curl xz-utils gzip python3 python3-openstackclient
	bench/import.sh

# copy_to: a 1 GiB image copied to kz-ala-1 under two names (one read, two writes) against one
# plain `curl -T` upload of it there; prints the ratio (target <= 1.5). BENCH_CLOUDS_YAML/BENCH_CLOUD
# point it at a real cloud (make realcloud: .realcloud/clouds.yaml, realcloud).
bench-copy:
	scripts/apt-install.sh curl python3
	bench/copy.sh

# Decompressor candidates (standard library, klauspost, pgzip, ulikunitz, C tools).
bench-decompress:
	go test -run '^$$' -bench Decompress -benchtime 3x ./internal/glanceimport/

# The glance-import end-to-end tests against real Glance (the real-cloud tier).
.PHONY: import-realcloud-test
REAL_TIERS += import-realcloud-test
import-realcloud-test: realcloud packer deps
	PACKER_ACC=1 GLANCE_IMPORT_CLOUDS_YAML=$(CURDIR)/.realcloud/clouds.yaml GLANCE_IMPORT_CLOUD=realcloud \
	go test -count=1 -timeout 20m -run '^TestAccRealGlance' -v ./post-processor/import/
