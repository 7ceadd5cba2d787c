# Fault-matrix tier (issue 13): seeded random plans of faults and Ctrl-C against builds and imports
# on the test cloud, run by the real packer binary (test/chaos). Included from the top GNUmakefile.
#
#   make chaos                        10 seeds from a fresh base (printed); SEEDS=n for more
#   make chaos SEED=n                 replay one seed (a failing run prints its seed and plan);
#                                     REPEAT=k runs it k times (the plan is the seed's, which calls
#                                     a percentage hits is drawn afresh)
#   make chaos SEED_BASE=b SEEDS=n    replay a whole run
#   make chaos KIND=transient         only the seeds whose plan is of that kind (fatal, ctrl-c)
#   make chaos-30                     the 30-seed run of make test-all
#
# Each seed is one packer run against its own test cloud; CHAOS_PARALLEL of them run at once
# (4: the runs mostly wait on the cloud's delays and on SSH; on 2 cores 30 seeds took 95 s with 4,
# 134 s with 3, 99 s with 5).

SEEDS ?= 10
CHAOS_PARALLEL ?= 4
CHAOS_TIMEOUT ?= 30m

TEST_TIERS += chaos
REAL_TIERS += chaos-30

.PHONY: chaos chaos-30

# The test binary runs outside `go test` so that each seed's line shows as it ends.
chaos: packer deps
	go test -c -o bin/chaos.test ./test/chaos/
	@start=$$(date +%s); \
	PACKER_ACC=1 CHAOS_SEEDS=$(SEEDS) CHAOS_SEED=$(SEED) CHAOS_SEED_BASE=$(SEED_BASE) CHAOS_KIND=$(KIND) CHAOS_REPEAT=$(REPEAT) \
	bin/chaos.test -test.run '^TestChaos$$' -test.count 1 -test.parallel $(CHAOS_PARALLEL) -test.timeout $(CHAOS_TIMEOUT); \
	rc=$$?; echo "chaos: exit $$rc after $$(( $$(date +%s) - start )) s"; exit $$rc

chaos-30:
	@$(MAKE) --no-print-directory chaos SEEDS=30
