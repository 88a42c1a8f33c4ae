#!/usr/bin/env bash
# Builds the Leptos UI into dist/ with Trunk, fully offline, with the wasm-opt from node_modules.
# Trunk builds into a staging directory; only files whose bytes changed are copied into dist/ (and files no longer
# built are removed), so an unchanged UI leaves dist/ as it was and cargo does not rebuild the engine, which
# watches dist/ (crates/engine/build.rs): a warm test run or `cargo xtask package` then compiles nothing again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
staging="${CARGO_TARGET_DIR:-target}/ui-dist"
PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH" trunk build --release --offline --dist "$staging" "$@"
mkdir -p dist
(cd "$staging" && find . -type f) | while read -r file; do
  if ! cmp -s "$staging/$file" "dist/$file"; then
    mkdir -p "dist/$(dirname "$file")"
    cp "$staging/$file" "dist/$file"
  fi
done
(cd dist && find . -type f) | while read -r file; do
  [ -e "$staging/$file" ] || rm -f "dist/$file"
done
