// Package chaos is the fault-matrix test: seeded random plans run the real packer
// binary, with this plugin, against the test cloud (internal/testcloud).
//
// Each seed draws a plan (plan.go): one scenario (a build with a fixed IP, a
// floating IP, a boot volume or a temporary security group; an import by upload,
// web-download or of gzip'ed data), and one kind:
//
//   - transient: 5xx, 429 with Retry-After, 409 on deletes and lost replies on
//     5–20 % of the calls of every operation, often with latency. Every such run
//     must succeed, its image must hold what was built, and nothing else may be
//     left;
//   - fatal: one operation broken for good (error, kill, fail, hold, or a status
//     on every call), never a delete. The run must fail with an error that names
//     what failed, and leave nothing;
//   - ctrl-c: Ctrl-C after a random line of output or a random delay. The run
//     must fail and leave nothing, or succeed with its artifact.
//
// The tests run only with PACKER_ACC set. CHAOS_SEEDS (default 10) seeds from
// CHAOS_SEED_BASE (default: drawn afresh and printed), or the one seed
// CHAOS_SEED. A failing run prints its seed and plan; `make chaos SEED=n` replays
// it. See mk/chaos.mk.
package chaos
