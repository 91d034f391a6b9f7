#!/usr/bin/env bash
# Builds everything from a fresh clone and runs the main job:
#   1. installs prerequisites (Debian packages),
#   2. publishes the NativeAOT launcher to out/launcher/flatimage,
#   3. writes dist/blueprint.flatimage (launcher + reserved configuration region),
#   4. shows the image working.
set -euo pipefail
cd "$(dirname "$0")"

scripts/install-prerequisites.sh

echo "== publishing the NativeAOT launcher"
dotnet publish Cli -c Release -r linux-x64 -o out/launcher -nologo -clp:ErrorsOnly

echo "== publishing fim_portal (the in-guest portal helper, bundled into images)"
dotnet publish Cli/Portal -c Release -r linux-x64 -o out/portal -nologo -clp:ErrorsOnly

echo "== writing dist/blueprint.flatimage"
mkdir -p dist
cp out/launcher/flatimage dist/.blueprint.flatimage.tmp
# The first configuration write gives a bare launcher its reserved region.
dist/.blueprint.flatimage.tmp fim-perms clear
mv dist/.blueprint.flatimage.tmp dist/blueprint.flatimage
ls -l dist/blueprint.flatimage

echo "== main job"
dist/blueprint.flatimage fim-version full
