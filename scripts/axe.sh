#!/bin/sh
# axe.sh prints the path of axe-core's axe.min.js, at a pinned version,
# installed once into the cache from the npm registry. The console's browser
# tests inject it into each page to check accessibility; it is never served
# to users.
set -eu

version=4.10.3
cache="${CLIENTELE_CACHE:-$HOME/.cache/clientele}"
dir="$cache/axe-core-$version"
file="$dir/node_modules/axe-core/axe.min.js"
if [ ! -f "$file" ]; then
	command -v npm >/dev/null 2>&1 || { echo "axe.sh: npm is needed once to install axe-core $version into $dir" >&2; exit 1; }
	mkdir -p "$dir"
	echo "axe.sh: installing axe-core $version into $dir, once" >&2
	npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "axe-core@$version" >&2
	[ -f "$file" ] || { echo "axe.sh: npm did not install $file" >&2; exit 1; }
fi
echo "$file"
