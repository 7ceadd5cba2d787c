package glance

import (
	"testing"
)

func TestStepCreateSecurityGroup(t *testing.T) {
	t.Run("opens only the communicator port", func(t *testing.T) {
		e := newTestEnv(t, with("temporary_security_group", true, "temporary_security_group_source_cidrs", []string{"203.0.113.0/24", "2001:db8::/32"}, "ssh_port", 2222))
		s := &stepCreateSecurityGroup{}
		e.mustRun(t, s)
		id := stringOf(e.state, stateTempSecGroup)
		want := []string{"AllowIngress " + id + " 2222 203.0.113.0/24", "AllowIngress " + id + " 2222 2001:db8::/32"}
		var got []string
		for _, c := range e.fake.calls {
			if len(c) > 12 && c[:12] == "AllowIngress" {
				got = append(got, c)
			}
		}
		if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("rules = %v, want %v", got, want)
		}
		if g := e.state.Get(stateSecurityGroups).([]string); len(g) != 1 || g[0] != id {
			t.Errorf("server groups = %v", g)
		}
		s.Cleanup(e.state)
		e.noLeaks(t)
	})
	t.Run("reply lost: the group is found by name and deleted", func(t *testing.T) {
		e := newTestEnv(t, with("temporary_security_group", true))
		e.fake.lose["CreateSecurityGroup"] = errServer
		s := &stepCreateSecurityGroup{}
		e.mustHalt(t, s, "creating security group")
		s.Cleanup(e.state)
		e.noLeaks(t)
		if e.fake.called("SecurityGroupsNamed") != 1 {
			t.Errorf("looked %d times, want once (it was there at once)", e.fake.called("SecurityGroupsNamed"))
		}
	})
	t.Run("not asked for", func(t *testing.T) {
		e := newTestEnv(t, minimal())
		e.mustRun(t, &stepCreateSecurityGroup{})
		if len(e.fake.calls) != 0 {
			t.Errorf("calls: %v", e.fake.calls)
		}
	})
	t.Run("rule refused: group still deleted", func(t *testing.T) {
		e := newTestEnv(t, with("temporary_security_group", true))
		e.fake.fail["AllowIngress"] = errServer
		s := &stepCreateSecurityGroup{}
		e.mustHalt(t, s, "opening TCP port 22 to 0.0.0.0/0")
		s.Cleanup(e.state)
		e.noLeaks(t)
	})
	t.Run("cleanup waits out a group still in use", func(t *testing.T) {
		e := newTestEnv(t, with("temporary_security_group", true))
		s := &stepCreateSecurityGroup{}
		e.mustRun(t, s)
		e.fake.fail["DeleteSecurityGroup"] = errConflict
		e.fake.failAfter["DeleteSecurityGroup"] = 1
		e.fake.onCall = func(m string) {
			if m == "DeleteSecurityGroup" && e.fake.called(m) == 2 {
				delete(e.fake.fail, "DeleteSecurityGroup")
			}
		}
		s.Cleanup(e.state)
		e.noLeaks(t)
		if n := e.fake.called("DeleteSecurityGroup"); n < 2 {
			t.Errorf("deleted %d times, want a retry after the 409", n)
		}
	})
	t.Run("creation refused", func(t *testing.T) {
		e := newTestEnv(t, with("temporary_security_group", true))
		e.fake.fail["CreateSecurityGroup"] = errServer
		e.mustHalt(t, &stepCreateSecurityGroup{}, `creating security group "packer_0000-uuid_secgroup"`)
	})
}
