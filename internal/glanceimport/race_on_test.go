//go:build race

package glanceimport

// raceDetector says the tests run under -race, which slows streaming tens of
// times and adds its own memory: tests that measure either skip then.
const raceDetector = true
