#!/usr/bin/env bash
# Builds everything from a fresh clone and runs the main job:
#   1. installs prerequisites (Debian packages),
#   2. publishes the NativeAOT launcher to out/launcher/flatimage,
#   3. collects the helper tools (scripts/collect-tools.sh) and writes dist/blueprint.flatimage
#      (launcher + reserved configuration region + tools bundle, no layers),
#   4. shows the image working.
set -euo pipefail
cd "$(dirname "$0")"

scripts/install-prerequisites.sh

echo "== publishing the NativeAOT launcher"
dotnet publish Cli -c Release -r linux-x64 -o out/launcher -nologo -clp:ErrorsOnly

echo "== collecting the tools bundle"
scripts/collect-tools.sh out/tools

echo "== writing dist/blueprint.flatimage"
mkdir -p dist
dotnet build Build/ImageAssembler -c Release -nologo -clp:ErrorsOnly -o out/assembler
dotnet out/assembler/ImageAssembler.dll out/launcher/flatimage out/tools dist/blueprint.flatimage

echo "== main job"
dist/blueprint.flatimage fim-version full
# The empty blueprint has a shell: the bundled busybox. Its data directory goes to a scratch place.
data=$(mktemp -d)
FIM_DIR_DATA="$data" dist/blueprint.flatimage fim-exec sh -c 'echo "hello from the blueprint: $(busybox | head -1)"'
rm -rf --one-file-system "$data"
