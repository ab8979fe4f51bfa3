#!/bin/sh
# CTest runs each doctest case by name (doctest_discover_tests); a name with
# a ';' is split by CMake into a filter that matches nothing, so that case
# would never run under ctest. This fails on such a name.
set -eu
bad=$("$1" --list-test-cases --no-version | grep -F ';' || true)
if [ -n "$bad" ]; then
  echo "test case names with ';' (ctest would skip them):"
  echo "$bad"
  exit 1
fi
