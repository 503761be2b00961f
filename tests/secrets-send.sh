# secrets-send.sh - a send's "secrets" reach its calls' environment on
# ^local through the agent channel only: a command send and a Python send
# see the planted values (field names upper-cased, aws's own names too);
# the value is then looked for in the agent's call records, its logs,
# rhfs's debug output and the process listing, and must not be there. A
# secret that cannot be read fails the write to invoke, naming it.
. "$top_srcdir/tests/lib.sh"
mount_rhfs -d
R=$MNT/~
VALUE=PLANTED-sendsecret-$$-Zq8rT
VALUE2=PLANTED-sendaws-$$-AKIAX

mkdir -p "$R/secrets/s" "$R/secrets/aws" "$R/secrets/nofield" \
	"$R/tools/show" "$R/tools/nap" \
	"$R/tools/missing" "$R/tools/nofield" "$R/tools/py" "$HOME/proj"
echo '{"resource_type": "secret", "provider": "custom", "fields": ["api.key"]}' \
	>"$R/secrets/s/config.json"
printf %s "$VALUE" >"$R/secrets/s/api.key"
echo '{"resource_type": "secret", "provider": "aws", "fields": ["access_key"]}' \
	>"$R/secrets/aws/config.json"
echo "$VALUE2" >"$R/secrets/aws/access_key"

printf '%s' '{"resource_type": "send", "hardware": "^local",
 "command": ["sh", "-c", "printf \"%s|%s|%s\" \"$ACCESS_KEY\" \"$API_KEY\" \"$AWS_ACCESS_KEY_ID\" | sha256sum"],
 "secrets": ["~/secrets/aws", "~/secrets/s"]}' >"$R/tools/show/config.json"
check "a send with secrets submits a call" \
	sh -c "echo '[]' > '$R/tools/show/invoke'"
check "its result" cat "$R/tools/show/calls/latest/result"
# calls print digests: their output is theirs to keep on disk
printf '%s|%s|%s' "$VALUE2" "$VALUE" "$VALUE2" | sha256sum >"$T/want"
same "the call's environment holds the values (newline dropped)" \
	"$T/out" "$T/want"

# A running call: its process listing and records, while it runs.
printf '%s' '{"resource_type": "send", "hardware": "^local",
 "command": ["sh", "-c", "sleep 2; printf %s \"$API_KEY\" | sha256sum"],
 "secrets": ["~/secrets/s"]}' >"$R/tools/nap/config.json"
check "a slow call with secrets" sh -c "echo '[]' > '$R/tools/nap/invoke'"
ps -eww -o args >"$T/ps"
lacks "no value in the process listing" "$T/ps" "$VALUE"
check "the slow call's result" cat "$R/tools/nap/calls/latest/result"
has "it had the value" "$T/out" "$(printf %s "$VALUE" | sha256sum)"

# Python: the worker sets the values for the call only.
cat >"$HOME/proj/fns.py" <<'PY'
import hashlib
import os


def key():
    return hashlib.sha256(os.environ["API_KEY"].encode()).hexdigest()


def after():
    return os.environ.get("API_KEY")
PY
printf '%s' '{"resource_type": "send", "hardware": "^local",
 "fn_pointers": ["proj", "fns", "key"], "secrets": ["~/secrets/s"]}' \
	>"$R/tools/py/config.json"
check "a Python send with secrets" sh -c "echo '[]' > '$R/tools/py/invoke'"
check "its result" cat "$R/tools/py/calls/latest/result"
has "os.environ holds the value" "$T/out" \
	"\"$(printf %s "$VALUE" | sha256sum | cut -d' ' -f1)\""

# Not readable: the write fails, naming the send and the secret.
printf '%s' '{"resource_type": "send", "hardware": "^local",
 "command": ["true"], "secrets": ["~/secrets/none"]}' \
	>"$R/tools/missing/config.json"
refuse "a missing secret fails the write" "No such file" \
	sh -c "env echo '[]' > '$R/tools/missing/invoke'"
has "rhfs says which send and secret" "$T/rhfs.err" \
	"~/tools/missing: secret ~/secrets/none: no such secret"
check "and no call was made" test ! -e "$R/tools/missing/calls/latest"
echo '{"resource_type": "secret", "provider": "custom", "fields": ["gone"]}' \
	>"$R/secrets/nofield/config.json"
printf '%s' '{"resource_type": "send", "hardware": "^local",
 "command": ["true"], "secrets": ["~/secrets/nofield"]}' \
	>"$R/tools/nofield/config.json"
refuse "a field without a value fails the write" "No such file" \
	sh -c "env echo '[]' > '$R/tools/nofield/invoke'"
has "rhfs names that secret and field" "$T/rhfs.err" \
	"~/tools/nofield: secret ~/secrets/nofield: field gone:"
refuse "'secrets' must hold addresses" "" sh -c \
	"echo '{\"resource_type\": \"send\", \"hardware\": \"^local\", \"command\": [\"true\"], \"secrets\": [1]}' > '$R/tools/nofield/config.json'"

refuse "a secret is an address or a name" "" sh -c \
	"echo '{\"resource_type\": \"send\", \"hardware\": \"^local\", \"command\": [\"true\"], \"secrets\": [\"aws/x\"]}' > '$R/tools/nofield/config.json'"
has "rhfs says why" "$T/rhfs.err" "'aws/x' is neither the address of a secret"
# a bare name, as Runhouse writes it, is secrets/NAME in the default folder
printf '%s' '{"resource_type": "send", "hardware": "^local",
 "command": ["true"], "secrets": ["nofield"]}' \
	>"$R/tools/nofield/config.json"
refuse "a bare name is the default folder's secret" "No such file" \
	sh -c "env echo '[]' > '$R/tools/nofield/invoke'"
test "$(grep -c '^.*~/tools/nofield: secret ~/secrets/nofield: field gone:' "$T/rhfs.err")" = 2 &&
	pass "... ~/secrets/NAME when not logged in" ||
	fail "... ~/secrets/NAME when not logged in (rhfs.err has no second line for it)"

# A call queued when the agent dies cannot run again without its
# values: after the restart it fails, saying so.
mkdir -p "$R/tools/q"
printf '%s' '{"resource_type": "send", "hardware": "^local",
 "command": ["sh", "-c", "sleep $0"], "secrets": ["~/secrets/s"]}' \
	>"$R/tools/q/config.json"
check "a running call and one queued behind it" sh -c "printf '%s\n%s\n' \
	'{\"args\": [\"300\"], \"queue\": true}' \
	'{\"args\": [\"0\"], \"queue\": true}' > '$R/tools/q/invoke'"
queued=$(readlink "$R/tools/q/calls/latest")
kill -9 "$(cat "$HOME/.rh/agent/pid")"
sleep 0.5
check "a new call starts the agent again" \
	sh -c "echo '[]' > '$R/tools/show/invoke'"
check "the queued call's status" cat "$R/tools/q/calls/$queued/status"
has "it failed: its secrets went with the agent" "$T/out" \
	"its secrets were held in memory only"

# Nowhere on disk, in logs or in process arguments.
check "the agent kept records" test -d "$HOME/.rh/agent/calls"
grep -r -l -F -- "$VALUE" "$HOME/.rh/agent" >"$T/found" 2>/dev/null
lacks "no value under the agent's directory" "$T/found" "/"
grep -r -l -F -- "$VALUE2" "$HOME/.rh/agent" >"$T/found" 2>/dev/null
lacks "no aws value under the agent's directory" "$T/found" "/"
check "the spec names the secrets' variables" \
	cat "$R/tools/show/calls/latest/spec"
has "spec lists names" "$T/out" "AWS_ACCESS_KEY_ID"
lacks "spec holds no value" "$T/out" "$VALUE2"
lacks "no value in rhfs -d output" "$T/rhfs.err" "$VALUE"
lacks "no aws value in rhfs -d output" "$T/rhfs.err" "$VALUE2"
finish
