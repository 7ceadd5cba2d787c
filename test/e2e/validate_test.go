package e2e

import (
	"strings"
	"testing"
)

func TestCompleteHCLBlocksSkipsSnippets(t *testing.T) {
	doc := "```hcl\nbuild {\n  sources = [\"source.qemu.debian\"]\n}\n```\n" +
		"```hcl\nsource \"null\" \"x\" {\n  communicator = \"none\"\n}\nbuild {\n  sources = [\"source.null.x\"]\n}\n```\n" +
		"```hcl\ndata \"glance-image\" \"a\" {\n  name = \"x\"\n}\n```\n"
	got := completeHCLBlocks(doc)
	if len(got) != 1 || !contains(got[0], `source "null" "x"`) {
		t.Fatalf("complete blocks = %q, want only the null template", got)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
