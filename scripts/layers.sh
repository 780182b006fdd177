#!/bin/sh
# Who calls whom inside node/: for each object file of the dknode library,
# the other node/ files that define the functions it calls (its undefined
# symbols matched to the symbols another object defines). Prints the file
# graph, the folder graph, and every cycle (strongly connected set) in each.
#
#   sh scripts/layers.sh BUILD_DIR
#
# Reads only the build's object files (nm). Exits 1 if two folders of node/
# call each other, directly or around a longer circle; a circle between two
# files of one folder is reported but does not fail.
#
# Then the private headers: for each .c and .h file of node/, the folders
# whose *_int.h headers it includes (node/cases/cases_int.h is node/cases's,
# node/upgrade_int.h the top's). Exits 1 as well if folder A's files include
# folder B's *_int.h while B's include A's, or around a longer circle.
# node/node_int.h (the node struct and what every layer needs about the
# node) is included by every layer and belongs to none, so it is not counted.
set -eu

build=${1:-build}
objdir=$build/CMakeFiles/dknode.dir
if [ ! -d "$objdir/node" ]; then
  echo "layers: no object files under $objdir/node (build first)" >&2
  exit 2
fi

src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# One line per symbol: "D file sym" for a defined function or object,
# "U file sym" for an undefined one. file is the source path without .c.
(cd "$objdir" && find node -name '*.c.o' | LC_ALL=C sort) | while read -r o; do
  f=${o%.c.o}
  [ -f "$src/$f.c" ] || continue # left over from a file since moved
  nm -g "$objdir/$o" | awk -v f="$f" '
    $1 == "U" { print "U", f, $2; next }
    NF == 3 && $2 ~ /^[TDBRC]$/ { print "D", f, $3 }'
done > "$tmp/syms"

awk '
  $1 == "D" { def[$3] = $2; next }
  { use[NR] = $2 " " $3 }
  END {
    for (i in use) {
      split(use[i], a, " ")
      if ((a[2] in def) && def[a[2]] != a[1]) print a[1], def[a[2]]
    }
  }' "$tmp/syms" | LC_ALL=C sort -u > "$tmp/edges"

# The folder of node/x/y is node/x; of node/y (the top) it is node.
awk '
  function dir(p) { return (split(p, s, "/") > 2) ? s[1] "/" s[2] : s[1] }
  { a = dir($1); b = dir($2); if (a != b) print a, b }' "$tmp/edges" |
  LC_ALL=C sort -u > "$tmp/dedges"

# graph TITLE EDGES: prints the adjacency, then the strongly connected sets
# of more than one node (by transitive closure; node/ is small). Prints the
# number of such sets on the last line as "cycles N".
graph() {
  awk -v title="$1" '
    { n[$1] = 1; n[$2] = 1; e[$1, $2] = 1; out[$1] = out[$1] " " $2 }
    END {
      print "== " title
      k = 0
      for (x in n) names[++k] = x
      # insertion sort: awk has no portable sort
      for (i = 2; i <= k; i++) {
        v = names[i]
        for (j = i - 1; j >= 1 && names[j] > v; j--) names[j + 1] = names[j]
        names[j + 1] = v
      }
      for (i = 1; i <= k; i++) {
        x = names[i]
        if (x in out) print x " ->" out[x]
      }
      for (i = 1; i <= k; i++) for (j = 1; j <= k; j++)
        r[names[i], names[j]] = ((names[i], names[j]) in e)
      for (m = 1; m <= k; m++) for (i = 1; i <= k; i++) if (r[names[i], names[m]])
        for (j = 1; j <= k; j++) if (r[names[m], names[j]]) r[names[i], names[j]] = 1
      c = 0
      for (i = 1; i <= k; i++) {
        if (seen[i]) continue
        s = names[i]; cnt = 1
        for (j = i + 1; j <= k; j++)
          if (r[names[i], names[j]] && r[names[j], names[i]]) { s = s " " names[j]; seen[j] = 1; cnt++ }
        if (cnt > 1) { print "cycle: " s; c++ }
      }
      print "cycles " c
    }' "$2"
}

graph "files (caller -> files defining what it calls)" "$tmp/edges" | tee "$tmp/fout" | grep -v '^cycles '
echo
graph "folders" "$tmp/dedges" | tee "$tmp/dout" | grep -v '^cycles '

# One line per include of a private header: "file header" (paths from the
# source root, node/node_int.h left out).
(cd "$src" && find node -name '*.[ch]' | LC_ALL=C sort) | while read -r f; do
  sed -n 's|^[[:space:]]*#[[:space:]]*include[[:space:]]*"\(node/[^"]*_int\.h\)".*|\1|p' "$src/$f" |
    while read -r h; do
      [ "$h" = node/node_int.h ] || echo "$f $h"
    done
done > "$tmp/incs"

echo
echo "== private headers (file -> folders whose *_int.h it includes)"
awk '
  function dir(p) { return (split(p, s, "/") > 2) ? s[1] "/" s[2] : s[1] }
  { d = dir($2); if (!(($1, d) in seen)) { seen[$1, d] = 1; out[$1] = out[$1] " " d } }
  END { for (f in out) print f " ->" out[f] }' "$tmp/incs" | LC_ALL=C sort
awk '
  function dir(p) { return (split(p, s, "/") > 2) ? s[1] "/" s[2] : s[1] }
  { a = dir($1); b = dir($2); if (a != b) print a, b }' "$tmp/incs" |
  LC_ALL=C sort -u > "$tmp/iedges"
echo
graph "folders by private header (folder -> folders whose *_int.h its files include)" \
  "$tmp/iedges" | tee "$tmp/iout" | grep -v '^cycles '

fc=$(sed -n 's/^cycles //p' "$tmp/fout")
dc=$(sed -n 's/^cycles //p' "$tmp/dout")
ic=$(sed -n 's/^cycles //p' "$tmp/iout")
echo
echo "file cycles: $fc, folder cycles: $dc, private header cycles: $ic"
status=0
if [ "$dc" -ne 0 ]; then
  echo "layers: folders of node/ call each other (folder cycles above)" >&2
  status=1
fi
if [ "$ic" -ne 0 ]; then
  echo "layers: folders of node/ include each other's *_int.h headers (private header cycles above)" >&2
  status=1
fi
exit $status
