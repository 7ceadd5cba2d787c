# Test cloud targets; included by the top GNUmakefile. See docs/testcloud.md.
TESTCLOUD_CLOUDS_YAML ?= $(CURDIR)/.testcloud/clouds.yaml
TESTCLOUD_CLI_PACKAGES := python3-openstackclient python3-glanceclient busybox-static openssh-client curl

# `make test` runs the CLI conformance and the differential suite as tiers (the Go tests already run
# in test-unit).
TEST_TIERS += testcloud-conformance testcloud-differential

.PHONY: testcloud-test testcloud-conformance testcloud-differential testcloud-run

# Behaviour tests of the emulator. busybox-static gives the servers' chroot a shell.
testcloud-test:
	scripts/apt-install.sh busybox-static openssh-client
	go test -count=1 ./internal/testcloud/...

# The unmodified Debian openstack and glance CLIs against the emulator (installed when missing).
testcloud-conformance:
	scripts/apt-install.sh $(TESTCLOUD_CLI_PACKAGES)
	bash test/conformance/cli.sh

# The Glance + Keystone differential suite (test/realcloud/differential, the expectations of real Glance
# 25 and Keystone 22) against the test cloud, started standalone. qemu-img makes the virtual_size
# scenario run instead of skipping. Options: DIFF_RUN=pattern, DIFF_VERBOSE=1, DIFF_TOKEN_LIFETIME=2m.
testcloud-differential:
	scripts/apt-install.sh qemu-utils curl python3
	bash test/conformance/differential.sh

# Run the cloud standalone until Ctrl-C; clouds.yaml goes to $(TESTCLOUD_CLOUDS_YAML).
# Extra flags: make testcloud-run TESTCLOUD_FLAGS='--delay 2s -v'
testcloud-run:
	mkdir -p $(dir $(TESTCLOUD_CLOUDS_YAML))
	go run ./cmd/glance-testcloud --clouds-yaml $(TESTCLOUD_CLOUDS_YAML) $(TESTCLOUD_FLAGS)
