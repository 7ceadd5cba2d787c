//go:build race

package imagecopy

// raceDetector says the tests run under -race, which adds its own memory: the
// memory bound test skips then.
const raceDetector = true
