#!/usr/bin/env bash
# Sets a fresh Debian/Ubuntu machine up for GAN Studio: system packages, npm dependencies, build.
# Needs root (or sudo) for apt-get. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if command -v apt-get >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  # Fashion-MNIST for the README's first run and the integration tests; Debian's Chromium for the
  # browser end-to-end tests (Playwright drives /usr/bin/chromium; it never downloads a browser);
  # a C compiler, OpenBLAS and oneDNN for gan-studio-native (native/: kernels for the wasm backend;
  # its convolutions run by oneDNN where libdnnl-dev was there when npm ci built it).
  $SUDO apt-get install -y -q --no-install-recommends dataset-fashion-mnist chromium \
    g++ make python3 libopenblas-dev libdnnl-dev
fi

# The two native TensorFlow packages are optional: where their install cannot download
# libtensorflow they are skipped and training runs on the wasm backend. gan-studio-native is
# optional too: where it cannot be built, the wasm backend's own convolutions run (slower).
npm ci --no-audit --no-fund
npm run build
