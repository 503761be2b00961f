# moto-lib.sh - moto's S3 server on a free loopback port, for the tests
# of the S3 data store (after tests/lib.sh): checks that moto, boto3 and
# the AWS CLI are here, then starts the server (moto_start) and gives
# the AWS CLI's settings for it (awsc). The caller stops it (kill its pid).

if ! "$PYTHON3" -c 'import moto.server, boto3' 2>/dev/null; then
	echo "$0: moto (with its server) and boto3 are needed: run tests/deps.sh" >&2
	exit 1
fi
if ! command -v aws >/dev/null 2>&1; then
	echo "$0: the AWS CLI (aws) is needed: run tests/deps.sh" >&2
	exit 1
fi

free_port() {
	"$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# moto_start PORT LOG [VAR=VALUE...]: a moto S3 server, ready when this
# returns; its pid in STARTED.
moto_start() {
	port=$1
	log=$2
	shift 2
	env "$@" "$PYTHON3" -m moto.server -H 127.0.0.1 -p "$port" \
		>>"$log" 2>&1 3>&- &
	STARTED=$!
	if ! wait_for 60 curl -s -o /dev/null "http://127.0.0.1:$port/moto-api/"; then
		echo "$0: moto did not start on port $port" >&2
		cat "$log" >&2
		exit 1
	fi
}

# awsc ARGS...: the AWS CLI against the caller's moto server, at $URL.
awsc() {
	aws --endpoint-url "$URL" "$@"
}

# The AWS CLI's (and boto3's) settings for a moto server: its test keys.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
