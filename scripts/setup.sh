#!/usr/bin/env bash
# Installs what SimRelay needs to build, run and test on Debian/Ubuntu, skipping whatever is already present,
# so a warm run costs seconds. Sourced or run by scripts/run.sh and scripts/test.sh; safe to run on its own.
# Versions and traps are explained in ARCHITECTURE.md ("Toolchain").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "not root and no sudo: run this script as root, or install sudo"
  SUDO="sudo"
fi

# Tauri's build needs (WebKitGTK 4.1 etc.); the rest runs and tests the app: Xvfb + D-Bus for the real window and
# notifications, WebKitWebDriver for tauri-driver, xclip to read the clipboard back. The browser tests run in
# Chromium, Firefox ESR and WebKit: WebKitGTK's MiniBrowser ships in libwebkit2gtk-4.1-0 (a dependency of the -dev
# package) and is driven by the same WebKitWebDriver under Xvfb; geckodriver comes from crates.io (below). The
# sqlite3 shell fills the History scale test's database (100,000 messages) through the schema's own triggers.
# mosquitto is the real MQTT broker the relay tests start on a free port (mosquitto_passwd comes with it).
# Packages (`cargo xtask package`): the arm64 (Raspberry Pi) cross compiler and C library, qemu to run the arm64
# binary in the tests, dpkg-dev for dpkg-deb/dpkg-shlibdeps, and systemd for `systemd-analyze verify` of the
# service unit (a file check: no service is started).
# postgresql: the store's tests and the cluster tests start their own server from its binaries (initdb in a temp
# directory, a free port), never the system service.
APT_PACKAGES=(
  build-essential pkg-config curl wget file libssl-dev libxdo-dev libwebkit2gtk-4.1-dev
  libayatana-appindicator3-dev librsvg2-dev
  xvfb xauth x11-utils dbus dbus-x11 dunst webkit2gtk-driver imagemagick chromium chromium-driver
  firefox-esr libwebkit2gtk-4.1-0
  fonts-dejavu-core at-spi2-core xclip nodejs npm python3 python3-pip python3-venv sqlite3
  mosquitto
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static dpkg-dev systemd postgresql
)

install_apt() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # npm ships with the nodejs of some distributions; accept any working node + npm.
  if command -v node >/dev/null && command -v npm >/dev/null; then
    local keep=(); for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || keep+=("$p"); done
    missing=("${keep[@]}")
  fi
  if command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1; then
    local keep=(); for p in "${missing[@]}"; do [[ "$p" == python3* ]] || keep+=("$p"); done
    missing=("${keep[@]}")
  fi
  if [ "${#missing[@]}" -gt 0 ]; then
    say "apt-get install ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

install_rust_tools() {
  command -v cargo >/dev/null || die "Rust is missing: install rustup (https://rustup.rs or your distribution's rustup package), then rerun"
  # rust-toolchain.toml pins the compiler and the wasm32 target; rustup installs both on first use.
  rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
  # The Raspberry Pi package is cross-built (linker and C compiler: .cargo/config.toml).
  rustup target list --installed | grep -q aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu

  # Trunk 0.22 needs a newer rustc than we pin.
  if [ "$(trunk --version 2>/dev/null)" != "trunk 0.21.14" ]; then
    say "cargo install trunk 0.21.14 (about 7 minutes, once)"
    cargo install trunk --version 0.21.14 --locked
  fi
  # Trunk refuses to run a wasm-bindgen that differs from the crate in Cargo.lock (it would try to download one).
  local wb
  wb=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wb" ]; then
    say "cargo install wasm-bindgen-cli $wb (a few minutes, once)"
    # Without --locked: with it, resolution of this version's lockfile fails on current registries.
    cargo install wasm-bindgen-cli --version "$wb"
  fi
  # tauri-driver has no --version; cargo's own install list says which version is there.
  if ! cargo install --list | grep -qx "tauri-driver v2.1.0:"; then
    say "cargo install tauri-driver 2.1.0"
    cargo install tauri-driver --version 2.1.0 --locked
  fi
  # geckodriver (Firefox's WebDriver server) is published only as source on crates.io; 0.37.1 drives the
  # firefox-esr of Debian 12's security updates (153 ESR).
  if ! cargo install --list | grep -qx "geckodriver v0.37.1:"; then
    say "cargo install geckodriver 0.37.1 (about 3 minutes on two cores, once)"
    cargo install geckodriver --version 0.37.1 --locked
  fi
}

install_npm_tools() {
  # The Tauri CLI (pinned: later versions lack platform binaries on the registry here) and binaryen's wasm-opt
  # (Debian's wasm-opt 108 corrupts wasm-bindgen's externref table: blank page).
  if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -x node_modules/.bin/tauri ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "npm ci (Tauri CLI, wasm-opt)"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

install_apt
install_rust_tools
install_npm_tools
