#!/usr/bin/env bash
# Turns rendered docs (partials already expanded) into the .web-docs/ layout the
# Packer integrations site reads: README.md at the top, and one README.md per
# component under components/<type>/<slug>/, without front matter or the H1 title.
set -euo pipefail
src=$1
dst=$2
rm -rf "$dst/components"
mkdir -p "$dst"
cp "$src/README.md" "$dst/README.md"

declare -A kinds=([builders]=builder [datasources]=data-source [post-processors]=post-processor [provisioners]=provisioner)
for dir in "${!kinds[@]}"; do
  [[ -d $src/$dir ]] || continue
  for page in "$src/$dir"/*.mdx; do
    [[ -e $page ]] || continue
    slug=$(basename "$page" .mdx)
    out="$dst/components/${kinds[$dir]}/$slug"
    mkdir -p "$out"
    # Drop the YAML front matter and the first H1 that follows it.
    awk '
      NR == 1 && $0 == "---" { in_front = 1; next }
      in_front { if ($0 == "---") in_front = 0; next }
      !seen_title && /^# / { seen_title = 1; skip_blank = 1; next }
      skip_blank && /^[[:space:]]*$/ { next }
      { skip_blank = 0; print }
    ' "$page" > "$out/README.md"
  done
done
