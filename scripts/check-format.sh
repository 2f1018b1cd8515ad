#!/usr/bin/env bash
# Fails when a C++ file of the project is not clang-formatted (.clang-format).
# Fix with: scripts/check-format.sh --fix
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find common services tools bench tests -name '*.h' -o -name '*.cc' | sort)
if [[ ${1:-} == --fix ]]; then
  clang-format -i "${files[@]}"
else
  clang-format --dry-run -Werror "${files[@]}"
  echo "clang-format: ${#files[@]} files clean"
fi
