# namespace.sh - ~ and ^ as directories: builtins, folders, resources made
# by writing config.json, mv, rm -r, and a Runhouse-written rh/ tree.
. "$top_srcdir/tests/lib.sh"

# A Runhouse-written local RNS, there before the mount.
mkdir -p "$WORK/rh/my-cluster"
printf '%s' '{"name": "~/my-cluster", "resource_type": "cluster", "resource_subtype": "Cluster", "ips": ["127.0.0.1"], "ssh_creds": {"ssh_user": "u", "ssh_private_key": "/path/key"}}' \
	>"$WORK/rh/my-cluster/config.json"
cp "$WORK/rh/my-cluster/config.json" "$T/runhouse.json"
mount_rhfs
R=$MNT/~

# ^: Runhouse's nine builtins and ^local, read-only.
ls "$MNT/^" >"$T/builtins"
for b in rh-cpu rh-8-cpu rh-32-cpu rh-gpu rh-4-gpu rh-8-gpu rh-v100 \
	rh-4-v100 rh-8-v100 local; do
	has "^ holds $b" "$T/builtins" "$b"
done
if [ "$(wc -l <"$T/builtins")" -eq 10 ]; then
	pass "^ holds exactly ten builtins"
else
	fail "^ holds exactly ten builtins (got $(wc -l <"$T/builtins"))"
fi
check "read ^rh-cpu" cat "$MNT/^/rh-cpu/config.json"
has "^rh-cpu is CPU:2+" "$T/out" '"instance_type": "CPU:2+"'
has "^rh-cpu is named by its address" "$T/out" '"name": "^rh-cpu"'
check "read ^rh-v100" cat "$MNT/^/rh-v100/config.json"
has "^rh-v100 is V100:1" "$T/out" '"V100:1"'
check "read ^local" cat "$MNT/^/local/config.json"
has "^local is a cluster" "$T/out" '"resource_type": "cluster"'
refuse "^ refuses mkdir" "Read-only file system" mkdir "$MNT/^/mine"
refuse "^ refuses writes" "Read-only file system" \
	sh -c "echo '{}' > '$MNT/^/rh-cpu/config.json'"
refuse "^ refuses rm" "Read-only file system" rm "$MNT/^/rh-cpu/config.json"
refuse "^ refuses mv" "Read-only file system" \
	mv "$MNT/^/rh-cpu" "$MNT/^/rh-cpu2"
refuse "^ refuses new files" "Read-only file system" touch "$MNT/^/rh-cpu/x"
refuse "^ and ~ are different stores" "" mv "$MNT/^/rh-cpu" "$R/rh-cpu"
check "the builtin is untouched" cmp "$MNT/^/rh-cpu/config.json" \
	"$BUILTINS/rh-cpu.json"

# The Runhouse-written resource shows up and reads back byte for byte.
check "Runhouse's resource is listed" ls "$R"
has "my-cluster listed" "$T/out" "my-cluster"
check "its config.json is listed" ls "$R/my-cluster"
has "config.json listed" "$T/out" "config.json"
same "its config reads back byte for byte" "$R/my-cluster/config.json" \
	"$T/runhouse.json"
sz=$(stat -c %s "$R/my-cluster/config.json")
if [ "$sz" -eq "$(stat -c %s "$T/runhouse.json")" ]; then
	pass "stat size is the content's"
else
	fail "stat size is the content's ($sz)"
fi
if [ "$(stat -c %Y "$R/my-cluster/config.json")" = \
	"$(stat -c %Y "$WORK/rh/my-cluster/config.json")" ]; then
	pass "mtime is the stored file's"
else
	fail "mtime is the stored file's"
fi
check "test -e finds the resource" test -e "$R/my-cluster"
refuse "test -e on a missing resource" "" test -e "$R/nothing"
# Round trip: write the same content back through the mount.
check "write it back through the mount" \
	cp "$T/runhouse.json" "$R/my-cluster/config.json"
same "unchanged on disk after the round trip" \
	"$WORK/rh/my-cluster/config.json" "$T/runhouse.json"

# Folders and new resources.
check "mkdir makes a folder" mkdir "$R/team"
check "the folder is on disk" test -d "$WORK/rh/team"
check "mkdir nested" mkdir -p "$R/team/models/big"
check "a new resource: mkdir" mkdir "$R/team/gen"
cat >"$T/send.json" <<'JSON'
{
    "resource_type": "send",
    "hardware": "^local",
    "command": ["echo", "hi"]
}
JSON
check "a new resource: write config.json" \
	sh -c "cat '$T/send.json' > '$R/team/gen/config.json'"
check "its config is on disk" test -f "$WORK/rh/team/gen/config.json"
check "read it" cat "$R/team/gen/config.json"
has "name was filled in with its address" "$T/out" '"name": "~/team/gen"'
same "mount and disk agree" "$R/team/gen/config.json" \
	"$WORK/rh/team/gen/config.json"
ls -l "$R/team" >"$T/ls"
has "ls -l shows the resource as a directory" "$T/ls" "drwxr-xr-x"
# a listing hands the kernel each name's attributes (readdirplus): what a
# lookup gives, a resource's times its config.json's, a folder's its own
mkdir "$WORK/rh/team/plain"
ls -l "$R/team" >/dev/null
test "$(stat -c '%.9Y %.9Z %a' "$R/team/gen")" = \
	"$(stat -c '%.9Y %.9Z 755' "$WORK/rh/team/gen/config.json")" &&
	pass "a listed resource's times are its config.json's" ||
	fail "a listed resource's times are its config.json's"
test "$(stat -c '%.9Y %.9Z %a' "$R/team/plain")" = \
	"$(stat -c '%.9Y %.9Z 755' "$WORK/rh/team/plain")" &&
	pass "a listed folder's times are its own" ||
	fail "a listed folder's times are its own"
rmdir "$WORK/rh/team/plain"
# listed again at once, a name the kernel still holds goes without its
# attributes: a config stored through the mount in between is seen
ls -l "$R/team" >/dev/null
sleep 0.01
cat "$WORK/rh/team/gen/config.json" >"$R/team/gen/config.json"
ls -l "$R/team" >/dev/null
test "$(stat -c '%.9Y' "$R/team/gen")" = \
	"$(stat -c '%.9Y' "$WORK/rh/team/gen/config.json")" &&
	pass "listed again after a store: the resource's new time" ||
	fail "listed again after a store: the resource's new time"

# mv: names follow the move.
check "mv a resource" mv "$R/team/gen" "$R/team/generate"
check "gone from the old place" test ! -e "$WORK/rh/team/gen"
test "$(jfield "$WORK/rh/team/generate/config.json" name)" = '"~/team/generate"' &&
	pass "name follows mv" || fail "name follows mv"
mkdir -p "$WORK/rh/team/models/big/inner"
printf '{"name": "~/team/models/big/inner", "rns_address": "~/team/models/big/inner", "resource_type": "blob", "path": "/data/x"}' \
	>"$WORK/rh/team/models/big/inner/config.json"
check "mv a folder holding resources" mv "$R/team" "$R/group"
test "$(jfield "$WORK/rh/group/generate/config.json" name)" = '"~/group/generate"' &&
	pass "names below a moved folder follow" ||
	fail "names below a moved folder follow"
test "$(jfield "$WORK/rh/group/models/big/inner/config.json" rns_address)" = '"~/group/models/big/inner"' &&
	pass "rns_address follows" || fail "rns_address follows"
refuse "mv a folder into itself" "Invalid argument" \
	pyrename "$R/group" "$R/group/models/x"
check "mv config.json to another folder moves the resource" \
	mv "$R/group/generate/config.json" "$R/group/models/config.json"
test "$(jfield "$WORK/rh/group/models/config.json" name)" = '"~/group/models"' &&
	pass "its name follows" || fail "its name follows"
check "the old directory is a folder now" test ! -e "$R/group/generate/config.json"

# Removing.
refuse "rmdir of a resource with its config" "Directory not empty" \
	rmdir "$R/my-cluster"
refuse "rmdir of a non-empty folder" "Directory not empty" rmdir "$R/group"
check "rm config.json makes a folder" rm "$R/group/models/config.json"
check "the folder stays" test -d "$R/group/models"
check "rmdir an empty folder" rmdir "$R/group/generate"
check "rm -r a tree of resources" rm -r "$R/group"
check "gone from disk" test ! -e "$WORK/rh/group"
ls -a "$R" >"$T/ls"
lacks "gone from the listing" "$T/ls" "group"
refuse "unlink of a directory" "Is a directory" unlink "$R/my-cluster"
refuse "rm of a missing file" "No such file" rm "$R/my-cluster/nothing"

# Changes made on disk behind the mount show up (after the cache time).
mkdir -p "$WORK/rh/outside"
printf '{"resource_type": "folder", "path": "/x"}' >"$WORK/rh/outside/config.json"
sleep 1.2
check "a resource made on disk shows up" cat "$R/outside/config.json"
finish
