package imagecopy

import (
	"strings"
	"testing"
	"time"
)

func TestConfigPrepare(t *testing.T) {
	base := Base{Name: "golden", Visibility: "shared", Members: []string{"p1"}, Region: "RegionOne"}
	var c Config
	if errs := c.Prepare(base); len(errs) != 0 || c.CopyFailure != FailBuild || c.CopyTimeout != DefaultTimeout {
		t.Fatalf("defaults: %v %+v", errs, c)
	}
	c = Config{CopyTo: []Target{{Region: "kz-ala-1", Members: []string{"p2"}}, {Cloud: "other"}}, CopyFailure: WarnOnly, CopyTimeout: time.Minute}
	if errs := c.Prepare(base); len(errs) != 0 || c.CopyTo[0].Visibility != "shared" {
		t.Fatalf("valid blocks: %v %+v", errs, c)
	}
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{CopyTo: []Target{{Name: "x"}}}, "copy_to block 1: set region"},
		{Config{CopyFailure: "ignore"}, `copy_failure "ignore"`},
		{Config{CopyTimeout: -time.Second}, "copy_timeout must be positive"},
		{Config{CopyTo: []Target{{Region: "kz-ala-1", Visibility: "private", Members: []string{"p"}}}}, `copy_to block 1 (region kz-ala-1) members needs copy_to block 1 (region kz-ala-1) visibility = "shared"`},
		{Config{CopyTo: []Target{{Region: "kz-ala-1", Visibility: "secret"}}}, `copy_to block 1 (region kz-ala-1) visibility "secret"`},
		{Config{CopyTo: []Target{{Cloud: "o", Region: "r", Properties: map[string]string{"os_hash_value": "x"}}}}, "copy_to block 1 (cloud o, region r) properties: \"os_hash_value\" is reserved"},
		{Config{CopyTo: []Target{{Region: "kz-ala-1", Tags: []string{"a", "a"}}}}, `tags lists "a" twice`},
		{Config{CopyTo: []Target{{Region: "RegionOne"}}}, "copy_to block 1 (region RegionOne): that is the image's own region"},
		{Config{CopyTo: []Target{{Region: "kz-ala-1"}, {Region: "kz-ala-1", Name: "golden"}}}, `copy_to block 2 (region kz-ala-1) copies to the same place under the same name "golden" as copy_to block 1`},
		{Config{CopyTo: []Target{{Region: "kz-ala-1", Name: strings.Repeat("n", 256)}}}, "longer than Glance's 255"},
	} {
		errs := tc.c.Prepare(base)
		var all []string
		for _, e := range errs {
			all = append(all, e.Error())
		}
		if !strings.Contains(strings.Join(all, "\n"), tc.want) {
			t.Errorf("%+v: want an error with %q, got %q", tc.c, tc.want, all)
		}
	}
	// A copy into the image's own region under another name is fine.
	c = Config{CopyTo: []Target{{Region: "RegionOne", Name: "golden-test"}}}
	if errs := c.Prepare(base); len(errs) != 0 {
		t.Errorf("another name in the same region: %v", errs)
	}
}

func TestPlacementsKeys(t *testing.T) {
	r := &Result{Copies: []*Copy{
		{Region: "kz-ala-1", ImageID: "b", Name: "g"},
		{Region: "kz-ala-1", ImageID: "c", Name: "g2"},
		{Region: "RegionOne", Cloud: "other", ImageID: "d", Name: "g"},
	}}
	ps := Placements("RegionOne", "a", "g", r)
	if got := ArtifactID(ps); got != "RegionOne:a,kz-ala-1:b,kz-ala-1/g2:c,other/RegionOne:d" {
		t.Errorf("artifact ID %s", got)
	}
	if ids := ImageIDs(ps); len(ids) != 4 || ids["other/RegionOne"] != "d" {
		t.Errorf("image IDs %v", ids)
	}
	if got := ArtifactID(Placements("", "a", "g", nil)); got != "default:a" {
		t.Errorf("no region: %s", got)
	}
}
