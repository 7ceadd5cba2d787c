# Real-cloud acceptance tier (issue 7, point 3): a real packer binary runs the glance-image data
# source and the glance-import post-processor against the real Keystone + Glance of
# `make realcloud`, with every way of authenticating. Included from the top GNUmakefile.
#
#   make realcloud-acceptance     start (or re-check) the services, then run test/realcloud/acceptance
#
# The run waits out one 120 s Keystone token (three imports in parallel that outlive it), so it
# takes a few minutes; see test/realcloud/acceptance/doc.go.

REALCLOUD_ACC_TIMEOUT ?= 30m
# Most tests are packer runs that wait on Glance; a few in parallel keep the tier short.
REALCLOUD_ACC_PARALLEL ?= 6
# Compressors for the client-side decompression tests; qemu-img/qemu-io (qemu-utils) make the
# test qcow2 (make realcloud installs qemu-utils).
REALCLOUD_ACC_PACKAGES := bzip2 xz-utils zstd qemu-utils

REAL_TIERS += realcloud-acceptance

.PHONY: realcloud-acceptance

realcloud-acceptance: realcloud packer
	@scripts/apt-install.sh $(REALCLOUD_ACC_PACKAGES)
	@start=$$(date +%s); \
	PACKER_ACC=1 REALCLOUD_CLOUDS_YAML=$(CURDIR)/.realcloud/clouds.yaml \
	go test -count=1 -timeout $(REALCLOUD_ACC_TIMEOUT) -parallel $(REALCLOUD_ACC_PARALLEL) -v \
		-run '^TestAcc' ./test/realcloud/acceptance/; \
	rc=$$?; echo "realcloud-acceptance: exit $$rc after $$(( $$(date +%s) - start )) s"; exit $$rc
