//go:build !race

package imagecopy

const raceDetector = false
