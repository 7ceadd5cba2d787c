package testcloud

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/utils/v2/openstack/clientconfig"
)

func TestCloudsYAMLWorksWithClientconfig(t *testing.T) {
	c := startCloud(t, Options{})
	path := filepath.Join(t.TempDir(), "clouds.yaml")
	if err := c.WriteCloudsYAML(path); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OS_CLIENT_CONFIG_FILE", path)
	for _, cloud := range []string{"testcloud", "testcloud-admin", "testcloud-alt", "testcloud-appcred"} {
		sc, err := clientconfig.NewServiceClient(testCtx(t), "image", &clientconfig.ClientOpts{Cloud: cloud})
		if err != nil {
			t.Fatalf("%s: %v", cloud, err)
		}
		if !strings.Contains(sc.Endpoint, "/RegionOne/public/image") {
			t.Errorf("%s endpoint %s", cloud, sc.Endpoint)
		}
		if _, err := images.List(sc, images.ListOpts{}).AllPages(testCtx(t)); err != nil {
			t.Fatalf("%s list: %v", cloud, err)
		}
	}
}

func TestControlAPIFaultsLeaksRequests(t *testing.T) {
	c := startCloud(t, Options{})
	ctl := c.ControlURL()
	resp, err := http.Post(ctl+"/faults", "application/json", strings.NewReader(`{"op":"image.list","status":500,"times":1}`))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("add fault: %v %v", err, resp)
	}
	resp.Body.Close()
	resp, err = http.Post(ctl+"/faults", "application/json", strings.NewReader(`{"op":"image.list","action":"bogus"}`))
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad fault: %v %v", err, resp)
	}
	resp.Body.Close()
	sc := imageClient(t, demoProvider(t, c), "kz-ala-1")
	if _, err := images.List(sc, images.ListOpts{}).AllPages(testCtx(t)); err == nil {
		t.Fatal("fault did not fire")
	}
	if _, err := images.List(sc, images.ListOpts{}).AllPages(testCtx(t)); err != nil {
		t.Fatalf("fault did not clear: %v", err)
	}
	createImage(t, sc, images.CreateOpts{Name: "packer_0000_temp"})
	var leaks map[string][]map[string]string
	getJSON(t, ctl+"/leaks", &leaks)
	for _, kind := range []string{"servers", "keypairs", "ports", "floating_ips", "security_groups", "volumes", "images"} {
		if _, ok := leaks[kind]; !ok {
			t.Errorf("leak report lacks %s", kind)
		}
	}
	if len(leaks["images"]) != 1 || leaks["images"][0]["name"] != "packer_0000_temp" || leaks["images"][0]["id"] == "" {
		t.Fatalf("image leaks: %v", leaks["images"])
	}
	var reqs struct{ Requests []Request }
	getJSON(t, ctl+"/requests?op=image.list", &reqs)
	if len(reqs.Requests) != 2 || reqs.Requests[0].Status != 500 || reqs.Requests[1].Region != "kz-ala-1" {
		t.Fatalf("request log: %+v", reqs.Requests)
	}
	req, _ := http.NewRequest(http.MethodDelete, ctl+"/faults", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("clear faults: %v", err)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode %s: %v", url, err)
	}
}
