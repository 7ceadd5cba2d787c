# Test cloud targets; included by the top GNUmakefile. See docs/testcloud.md.
TESTCLOUD_CLOUDS_YAML ?= $(CURDIR)/.testcloud/clouds.yaml

.PHONY: testcloud-test testcloud-conformance testcloud-run

# Behaviour tests of the emulator. busybox-static gives the servers' chroot a shell.
testcloud-test:
	scripts/apt-install.sh busybox-static openssh-client
	go test -count=1 ./internal/testcloud/...

# The unmodified Debian openstack and glance CLIs against the emulator.
testcloud-conformance:
	scripts/apt-install.sh python3-openstackclient python3-glanceclient busybox-static openssh-client curl
	bash test/conformance/cli.sh

# Run the cloud standalone until Ctrl-C; clouds.yaml goes to $(TESTCLOUD_CLOUDS_YAML).
testcloud-run:
	mkdir -p $(dir $(TESTCLOUD_CLOUDS_YAML))
	go run ./cmd/glance-testcloud --clouds-yaml $(TESTCLOUD_CLOUDS_YAML) $(TESTCLOUD_FLAGS)
