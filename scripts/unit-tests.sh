#!/usr/bin/env bash
# Runs the unit and actor tests that need neither root, /dev/fuse, a built image nor the
# Debian mirror: any user, no ./build.sh first, only the .NET 10 SDK (and a C compiler for
# the header layout tests). Test classes that mount, create users or need the debootstrap
# tree carry [Trait("Category", "NeedsRoot")] and are left out; the end-to-end tests
# (tests/FlatImage.Cli.Tests) need the published image and are left out too. ./test.sh runs
# everything. Extra arguments go to every `dotnet test` call (for example --no-build, or
# -c Release).
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
for project in tests/FlatImage.Native.Tests tests/FlatImage.Runtime.Tests tests/FlatImage.Actors.Tests; do
    echo "== $project"
    dotnet test "$project" -nologo --filter "Category!=NeedsRoot" "$@" || status=$?
done
exit $status
