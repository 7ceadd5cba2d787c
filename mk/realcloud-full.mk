# Real OpenStack, full profile (issue 8): Nova, Neutron, Placement and libvirt on top of the base
# profile (mk/realcloud.mk). Included from the top GNUmakefile.
#
#   make realcloud PROFILE=full     install what is missing, start everything, write .realcloud/clouds.yaml
#   make realcloud-down PROFILE=full
#   make realcloud-full-test        the full profile's acceptance tests (a real server, SSH, snapshots)
#   make realcloud-full-differential the differential suite's Cinder scenarios against the real Cinder
#   make realcloud-full-bench       wall time, the cloud's critical path, overhead and API requests of our builder
#   make realcloud-full-bench-official  the same, side by side with HashiCorp's openstack builder (never in CI)
#   make realcloud-guest-selftest   the tiny guest under plain qemu (no OpenStack)

REALCLOUD_FULL_TEST_TIMEOUT ?= 30m
# `make test-all` (CI) runs this tier (install + cold start + tests: about 15 minutes on 2 cores before
# the boot-from-volume tests, which add about 6 minutes at low load; see test/realcloud/FULL.md).
REAL_TIERS += realcloud-full-test

# The Cinder scenarios take about 80 s (one server boots from a volume).
REAL_TIERS += realcloud-full-differential

.PHONY: realcloud-full realcloud-full-test realcloud-full-differential realcloud-full-bench realcloud-full-bench-official realcloud-guest-selftest

realcloud-full:
	@$(REALCLOUD_SH) up full

realcloud-full-test: realcloud-full packer
	PACKER_ACC=1 REALCLOUD_FULL_CLOUDS_YAML=$(CURDIR)/.realcloud/clouds.yaml \
	go test -count=1 -timeout $(REALCLOUD_FULL_TEST_TIMEOUT) -v -run '^TestAcc' ./test/realcloud/full/

# Only the block-storage scenarios: the Glance and Keystone ones run in realcloud-test (base profile).
realcloud-full-differential: realcloud-full
	DIFF_CLOUDS_YAML=$(CURDIR)/.realcloud/clouds.yaml DIFF_CLOUD=realcloud DIFF_ADMIN_CLOUD=realcloud-admin \
	go test -count=1 -timeout 15m -v -run '^TestVolume' ./test/realcloud/differential/

realcloud-full-bench: realcloud-full packer
	test/realcloud/full/bench.sh

# Builds packer-plugin-openstack (test/realcloud/full/official.sh: OFFICIAL_TAG, OFFICIAL_SRC) outside
# the repository and alternates it with ours on the same template.
realcloud-full-bench-official: realcloud-full packer
	OFFICIAL=1 test/realcloud/full/bench.sh

realcloud-guest-selftest:
	test/realcloud/guest/selftest.sh
