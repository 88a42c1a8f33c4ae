#!/usr/bin/env bash
# Installs whatever is missing, then runs every SimRelay check: formatting, lints, unit and integration tests, the
# PDU differential test against python-gammu, the browser end-to-end tests (Chromium, Firefox and WebKit), the
# desktop end-to-end test (the real Tauri window under Xvfb with a private D-Bus session) and the Debian packages
# (built from the debug binaries, the arm64 one run under qemu). Stops at the first failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# A full run builds everything once: incremental caches would only add gigabytes to the target directory.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

scripts/setup.sh

# The differential test of the PDU codec needs an independent implementation: python-gammu bundles libGammu.
if ! python3 -c 'import gammu' 2>/dev/null; then
  say "pip install python-gammu==3.5.1 (PDU differential test)"
  python3 -m pip install --quiet --disable-pip-version-check python-gammu==3.5.1 \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages python-gammu==3.5.1
fi

# The e-mail forwarder is tested against a real SMTP server: Python's aiosmtpd.
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
  say "pip install aiosmtpd==1.4.6 (e-mail forwarder test)"
  python3 -m pip install --quiet --disable-pip-version-check aiosmtpd==1.4.6 \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages aiosmtpd==1.4.6
fi

say "cargo fmt --check"
cargo fmt --all --check

say "build the UI (Trunk, offline)"
scripts/build-ui.sh

say "clippy (native crates, then the wasm UI)"
cargo clippy --workspace --exclude simrelay-ui --all-targets -- -D warnings
cargo clippy -p simrelay-ui --target wasm32-unknown-unknown --all-targets -- -D warnings

say "build the binaries the end-to-end tests drive"
cargo build -p simrelay-engine -p simrelay-desktop
# xtask's package tests pack the binaries above into .debs and install them in an overlay; the Raspberry Pi's is
# cross-built in the debug profile (the release packages come from `cargo xtask package`) and run under qemu.
# SIMRELAY_ARM64=0 leaves that cross-build and its test out (it is most of the packaging tests' cost: about 6 minutes
# of a cold run, 4 after a dependency change).
skip_tests=()
if [ "${SIMRELAY_ARM64:-1}" != 0 ]; then
  say "cross-build simrelay for arm64 (Raspberry Pi)"
  cargo build -p simrelay-engine --target aarch64-unknown-linux-gnu
else
  skip_tests=(-- --skip the_arm64_package)
fi
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
export SIMRELAY_BIN="$target_dir/debug/simrelay" SIMRELAY_DESKTOP_BIN="$target_dir/debug/simrelay-desktop"

# SIMRELAY_BROWSERS (default all three) may leave browsers out, e.g. SIMRELAY_BROWSERS=chromium for a quick run.
export SIMRELAY_BROWSERS="${SIMRELAY_BROWSERS:-chromium,firefox,webkit}"
browser_selected() { [[ ",$SIMRELAY_BROWSERS," == *",$1,"* ]]; }

say "UI component tests (wasm, headless Chromium)"
CHROMEDRIVER=/usr/bin/chromedriver CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p simrelay-ui --target wasm32-unknown-unknown
# The same wasm test binary once more in headless Firefox (wasm-bindgen-test-runner drives no WebKitGTK).
if browser_selected firefox; then
  say "UI component tests (wasm, headless Firefox)"
  GECKODRIVER="$(command -v geckodriver)" CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    cargo test -p simrelay-ui --target wasm32-unknown-unknown
fi

say "unit, integration and end-to-end tests (browser tests in Chromium, Firefox and WebKit)"
cargo test --workspace "${skip_tests[@]}"

# The keyboard test opens the harness's default browser (Browser::start, Chromium) rather than the matrix: run it
# once more in each of the other two.
for browser in firefox webkit; do
  browser_selected "$browser" || continue
  say "keyboard end-to-end test in $browser"
  SIMRELAY_DEFAULT_BROWSER=$browser cargo test -p simrelay-e2e-browser --test keyboard
done
