#!/usr/bin/env bash
# Builds everything from a fresh clone and runs the main job:
#   1. installs prerequisites (Debian packages),
#   2. publishes the NativeAOT launcher to out/launcher/flatimage and fim_portal to out/portal,
#   3. collects the helper tools (scripts/collect-tools.sh) and writes dist/blueprint.flatimage
#      (launcher + reserved configuration region + tools bundle, no layers),
#   4. writes dist/debian.flatimage (blueprint + Debian bookworm minbase; needs root),
#   5. the main job: runs a program in the Debian image.
set -euo pipefail
cd "$(dirname "$0")"

# The recipe repository a fresh image names (`fim-remote show`): the base URL under which the
# repository's recipes/ directory is published, so that <url>/debian/latest/<name>.json is a
# recipe (docs/recipes.md). Set FIM_RECIPE_REMOTE to the raw-file URL of recipes/ in the project's
# public repository for a release; an empty value builds images without a preset. The default is a
# placeholder under the reserved .invalid domain: it never reaches anybody's server.
FIM_RECIPE_REMOTE=${FIM_RECIPE_REMOTE-https://flatimage-recipes.invalid/recipes}

scripts/install-prerequisites.sh

echo "== publishing the NativeAOT launcher"
dotnet publish Cli -c Release -r linux-x64 -o out/launcher -nologo -clp:ErrorsOnly

echo "== publishing fim_portal (the in-guest portal helper, bundled into images)"
dotnet publish Cli/Portal -c Release -r linux-x64 -o out/portal -nologo -clp:ErrorsOnly

echo "== collecting the tools bundle"
scripts/collect-tools.sh out/tools

echo "== writing dist/blueprint.flatimage"
mkdir -p dist
dotnet build Build/ImageAssembler -c Release -nologo -clp:ErrorsOnly -o out/assembler
dotnet out/assembler/ImageAssembler.dll out/launcher/flatimage out/tools dist/blueprint.flatimage "$FIM_RECIPE_REMOTE"
# The empty blueprint has a shell: the bundled busybox. Its data directory goes to a scratch place.
data=$(mktemp -d)
FIM_DIR_DATA="$data" dist/blueprint.flatimage fim-exec sh -c 'echo "hello from the blueprint: $(busybox | head -1)"'
rm -rf --one-file-system "$data"

echo "== writing dist/debian.flatimage"
if [ "$(id -u)" -ne 0 ]; then
    echo "error: dist/debian.flatimage needs root (debootstrap); run ./build.sh as root" >&2
    exit 1
fi
scripts/build-debian-image.sh dist/blueprint.flatimage dist/debian.flatimage
ls -l dist/debian.flatimage

echo "== main job: a program in the Debian image"
dist/debian.flatimage fim-version full
dist/debian.flatimage fim-exec sh -c '. /etc/os-release; echo "$PRETTY_NAME in a FlatImage"; apt-get --version | head -n1'
