# secrets-cli.sh - rh secrets extract|download on a throwaway HOME with
# the credential files of every provider: extract makes ~/secrets/PROVIDER
# (config.json in rh/, sealed values in ~/.rh/), a mount reads the same
# values, download writes them back (0600) without touching unrelated
# entries, and no value is ever printed or left in plaintext.
. "$top_srcdir/tests/lib.sh"
RH=$top_builddir/rh
mkdir -p "$WORK/rh"
cd "$WORK" || exit 1
P=PLANTED$$

mkdir -p "$HOME/.aws" "$HOME/.cache/huggingface" "$HOME/.config/gh" \
	"$HOME/.lambda_cloud" "$HOME/.azure" "$HOME/.config/gcloud" "$HOME/.ssh"
cat >"$HOME/.aws/credentials" <<EOF
[work]
aws_access_key_id = WORKKEY$P
aws_secret_access_key = WORKSECRET$P

[default]
aws_access_key_id = AKIA$P
aws_secret_access_key = SECRET$P/x+y
region = us-east-1
EOF
printf 'hf_%s' "$P" >"$HOME/.cache/huggingface/token"
cat >"$HOME/.config/gh/hosts.yml" <<EOF
github.com:
    user: octo
    oauth_token: gho_$P
    git_protocol: https
ghe.example.com:
    oauth_token: ghe_$P
EOF
echo "api_key = lambda_$P" >"$HOME/.lambda_cloud/lambda_keys"
printf '[AzureCloud]\nsubscription = sub-%s\n' "$P" >"$HOME/.azure/clouds.config"
cat >"$HOME/.config/gcloud/application_default_credentials.json" <<EOF
{"client_id": "cid-$P", "client_secret": "csec-$P",
 "refresh_token": "rt-$P", "type": "authorized_user"}
EOF
ssh-keygen -q -t ed25519 -N '' -C "key-$P" -f "$HOME/.ssh/id_ed25519"
mkdir -p "$T/orig"
cp -r "$HOME/.ssh" "$HOME/.cache" "$T/orig/"

check "rh secrets extract (every provider found)" "$RH" secrets extract
cp "$T/out" "$T/extract.out"
for p in aws gcp azure huggingface github lambda ssh; do
	check "$p extracted" test -f "$WORK/rh/secrets/$p/config.json"
done
has "aws fields" "$WORK/rh/secrets/aws/config.json" '"secret_key"'
has "aws provider" "$WORK/rh/secrets/aws/config.json" '"provider": "aws"'
has "ssh path" "$WORK/rh/secrets/ssh/config.json" '"~/.ssh/id_ed25519"'
check "sky has no key here: skipped" test ! -e "$WORK/rh/secrets/sky"
lacks "extract prints no value" "$T/extract.out" "$P"
check "sealed values under ~/.rh" test -f "$HOME/.rh/secrets/secrets/aws/secret_key"
refuse "an explicit provider with no file is an error" "sky" \
	"$RH" secrets extract sky
refuse "an unknown name without a path is an error" "not a known provider" \
	"$RH" secrets extract nosuch
refuse "a bad name" "" "$RH" secrets extract ../x
refuse "a verb it does not know" "usage" "$RH" secrets frob

# The mount shows the same values.
mount_rhfs
S=$MNT/~/secrets
check "the mount reads aws's secret_key" \
	test "$(cat "$S/aws/secret_key")" = "SECRET$P/x+y"
check "and github's token" test "$(cat "$S/github/oauth_token")" = "gho_$P"
check "and the ssh private key" cmp "$S/ssh/private_key" "$HOME/.ssh/id_ed25519"
# a value changed through the mount goes back to the file
check "changing aws's access_key in the mount" \
	sh -c "printf NEWKEY$P > '$S/aws/access_key'"
unmount_rhfs

# download: values back into the standard files, others untouched.
rm -rf "$HOME/.cache/huggingface" "$HOME/.ssh" "$HOME/.lambda_cloud" \
	"$HOME/.azure"
cat >"$HOME/.aws/credentials" <<EOF
[default]
aws_access_key_id = STALE
region = eu-west-1

[extra]
aws_access_key_id = EXTRA$P
EOF
cat >"$HOME/.config/gh/hosts.yml" <<EOF
github.com:
    user: octo
    oauth_token: stale
other.example.com:
    oauth_token: other_$P
EOF
echo '{"client_id": "old", "quota_project_id": "proj"}' \
	>"$HOME/.config/gcloud/application_default_credentials.json"
check "rh secrets download" "$RH" secrets download
lacks "download prints no value" "$T/out" "$P"
C=$HOME/.aws/credentials
has "aws key from the secret (changed in the mount)" "$C" \
	"aws_access_key_id = NEWKEY$P"
has "aws secret key added to [default]" "$C" \
	"aws_secret_access_key = SECRET$P/x+y"
has "an unrelated key kept" "$C" "region = eu-west-1"
has "an unrelated profile kept" "$C" "aws_access_key_id = EXTRA$P"
lacks "the stale value replaced" "$C" STALE
check "credentials 0600" test "$(stat -c %a "$C")" = 600
check "aws file still parses as INI" "$PYTHON3" -c '
import configparser, sys
c = configparser.ConfigParser(); c.read(sys.argv[1])
assert c["default"]["aws_secret_access_key"].startswith("SECRET")
assert c["extra"]["aws_access_key_id"].startswith("EXTRA")' "$C"
same "huggingface token restored" "$HOME/.cache/huggingface/token" \
	"$T/orig/.cache/huggingface/token"
same "ssh private key restored" "$HOME/.ssh/id_ed25519" \
	"$T/orig/.ssh/id_ed25519"
same "ssh public key restored" "$HOME/.ssh/id_ed25519.pub" \
	"$T/orig/.ssh/id_ed25519.pub"
check "private key 0600" test "$(stat -c %a "$HOME/.ssh/id_ed25519")" = 600
check "ssh-keygen reads it" ssh-keygen -y -f "$HOME/.ssh/id_ed25519"
has "lambda key restored" "$HOME/.lambda_cloud/lambda_keys" \
	"api_key = lambda_$P"
has "azure subscription restored" "$HOME/.azure/clouds.config" \
	"subscription = sub-$P"
check "gh hosts.yml: token, user and other host" "$PYTHON3" -c '
import sys
t = open(sys.argv[1]).read()
assert "gho_" in t and "stale" not in t, t
assert "other_" in t and "user: octo" in t, t' "$HOME/.config/gh/hosts.yml"
G=$HOME/.config/gcloud/application_default_credentials.json
check "gcloud JSON merged" "$PYTHON3" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["client_id"].startswith("cid-") and d["quota_project_id"] == "proj"
assert d["refresh_token"].startswith("rt-")' "$G"
check "gcloud 0600" test "$(stat -c %a "$G")" = 600

check "download of one provider" "$RH" secrets download huggingface
refuse "download of a secret that is not there" "no such secret" \
	"$RH" secrets download nosuch

# A custom secret: its config names the file.
mkdir -p "$WORK/rh/secrets/mytool"
echo '{"resource_type": "secret", "provider": "mytool", "path": "~/.mytool/token"}' \
	>"$WORK/rh/secrets/mytool/config.json"
mkdir -p "$HOME/.mytool"
printf 'custom-%s' "$P" >"$HOME/.mytool/token"
check "extract a custom secret" "$RH" secrets extract mytool
rm "$HOME/.mytool/token"
check "download it" "$RH" secrets download mytool
check "custom file restored" test "$(cat "$HOME/.mytool/token")" = "custom-$P"

# Logged in, the default folder is @ (tests/secrets-etcd.sh): with etcd
# unreachable, a clear failure; --local still keeps them in ~.
printf '{"url": "http://127.0.0.1:1", "user": "alice", "password": "x", "ca_file": null, "prefix": "/rh"}' \
	>"$HOME/.rh/login.json"
chmod 600 "$HOME/.rh/login.json"
refuse "logged in, etcd unreachable: a clear failure" "rh secrets" \
	"$RH" secrets extract aws
check "--local keeps them in ~" "$RH" secrets --local extract aws
rm "$HOME/.rh/login.json"

if grep -r -q -F -- "$P" "$WORK" "$HOME/.rh"; then
	fail "no plaintext in rh/ or ~/.rh/: $(grep -r -l -F -- "$P" "$WORK" "$HOME/.rh")"
else
	pass "no plaintext in rh/ or ~/.rh/"
fi
lacks "no value in rhfs's log" "$T/rhfs.err" "$P"
finish
