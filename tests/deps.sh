#!/bin/sh
# deps.sh - install what rhfs needs to build, run and be tested on
# Debian 12, as root. Safe to run again.
set -eu
export DEBIAN_FRONTEND=noninteractive
packages="
	build-essential autoconf automake pkg-config
	libfuse3-dev fuse3
	libssh2-1-dev libcurl4-openssl-dev libcjson-dev libyaml-dev libssl-dev
	libxml2-dev
	sshfs
	python3 procps util-linux passwd rsync
	s3fs
	python3-pip python3-venv python3-wheel python3-setuptools
	openssh-server openssh-client
	etcd-server etcd-client openssl
	vim nano tmux
	clang libclang-rt-14-dev
	xvfb pcmanfm xdotool libglib2.0-bin imagemagick
	slurm-wlm munge
"
missing=
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "deps.sh: installing$missing"
	apt-get update -qq
	# only errors and warnings: apt's and dpkg's progress goes to stdout
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# tests/s3.sh: moto's S3 server, with boto3 and the AWS CLI as the
# independent client (Python packages, not Debian's)
if ! python3 -c 'import moto.server, boto3' 2>/dev/null; then
	echo "deps.sh: moto with its server and boto3 are missing (tests/s3.sh):" \
		"pip install 'moto[server]' boto3 awscli" >&2
	exit 1
fi
if ! command -v aws >/dev/null 2>&1; then
	echo "deps.sh: the AWS CLI (aws) is missing (tests/s3.sh):" \
		"pip install awscli" >&2
	exit 1
fi
