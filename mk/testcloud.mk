# Test cloud targets; included by the top GNUmakefile. See docs/testcloud.md.
TESTCLOUD_CLOUDS_YAML ?= $(CURDIR)/.testcloud/clouds.yaml
TESTCLOUD_CLI_PACKAGES := python3-openstackclient python3-glanceclient busybox-static openssh-client curl

# `make test` runs the CLI conformance as one of its tiers (the Go tests already run in test-unit).
TEST_TIERS += testcloud-conformance

.PHONY: testcloud-test testcloud-conformance testcloud-run

# Behaviour tests of the emulator. busybox-static gives the servers' chroot a shell.
testcloud-test:
	scripts/apt-install.sh busybox-static openssh-client
	go test -count=1 ./internal/testcloud/...

# The unmodified Debian openstack and glance CLIs against the emulator (installed when missing).
testcloud-conformance:
	scripts/apt-install.sh $(TESTCLOUD_CLI_PACKAGES)
	bash test/conformance/cli.sh

# Run the cloud standalone until Ctrl-C; clouds.yaml goes to $(TESTCLOUD_CLOUDS_YAML).
# Extra flags: make testcloud-run TESTCLOUD_FLAGS='--delay 2s -v'
testcloud-run:
	mkdir -p $(dir $(TESTCLOUD_CLOUDS_YAML))
	go run ./cmd/glance-testcloud --clouds-yaml $(TESTCLOUD_CLOUDS_YAML) $(TESTCLOUD_FLAGS)
