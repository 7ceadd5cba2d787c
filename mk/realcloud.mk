# Real OpenStack tier (issue 7): Keystone + Glance + MariaDB from Debian's packages on 127.0.0.1.
# Included from the top GNUmakefile: paths are relative to the repository top.
#
#   make realcloud            install what is missing, configure, start; writes .realcloud/clouds.yaml
#   make realcloud-down       stop what realcloud started
#   make realcloud-test       the differential + authentication suite against the real services
#   make realcloud-status     which services answer
#   make realcloud-restart SERVICE=glance-api   stop and start one service of the running cloud
#   make differential DIFF_CLOUDS_YAML=... DIFF_CLOUD=...
#                             the same differential suite against any cloud (e.g. the test cloud)
#
# PROFILE selects the set of services (test/realcloud/profiles/); "base" is Keystone + Glance.

REALCLOUD_SH := test/realcloud/realcloud.sh
REALCLOUD_PROFILE = $(or $(PROFILE),base)
# The differential suite's own time budget (it waits on real imports and one token expiry).
REALCLOUD_TEST_TIMEOUT ?= 15m

# `make test-all` runs this tier (it installs and starts the services first).
REAL_TIERS += realcloud-test

.PHONY: realcloud realcloud-down realcloud-status realcloud-restart realcloud-test differential

realcloud:
	@$(REALCLOUD_SH) up $(REALCLOUD_PROFILE)

realcloud-down:
	@$(REALCLOUD_SH) down $(if $(PROFILE),$(PROFILE))

realcloud-status:
	@$(REALCLOUD_SH) status $(REALCLOUD_PROFILE)

realcloud-restart:
	@test -n "$(SERVICE)" || { echo "realcloud-restart: set SERVICE (e.g. SERVICE=glance-api)" >&2; exit 2; }
	@$(REALCLOUD_SH) restart $(SERVICE) $(PROFILE)

# The Cinder scenarios (TestVolume*) need the full profile: they run in realcloud-full-differential,
# not here, even when the full profile happens to be up.
realcloud-test: realcloud
	DIFF_CLOUDS_YAML=$(CURDIR)/.realcloud/clouds.yaml DIFF_CLOUD=realcloud DIFF_ADMIN_CLOUD=realcloud-admin \
	DIFF_APPCRED_CLOUD=realcloud-appcred \
	go test -count=1 -timeout $(REALCLOUD_TEST_TIMEOUT) -skip '^TestVolume' -v ./test/realcloud/differential/

# The differential suite against any clouds.yaml cloud; the DIFF_* variables are read from the
# environment or the make command line (see test/realcloud/README.md).
differential:
	@test -n "$(DIFF_CLOUDS_YAML)" || { echo "differential: set DIFF_CLOUDS_YAML (and DIFF_CLOUD)" >&2; exit 2; }
	DIFF_CLOUDS_YAML=$(abspath $(DIFF_CLOUDS_YAML)) DIFF_CLOUD=$(DIFF_CLOUD) \
	go test -count=1 -timeout $(REALCLOUD_TEST_TIMEOUT) -v ./test/realcloud/differential/
