#!/usr/bin/env bash
# Runs every test of the workspace: unit, property, end-to-end and doc tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked "$@"
