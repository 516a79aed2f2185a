#!/usr/bin/env bash
# Build localhost/debian-python:bookworm, a Debian root file system with
# Python 3.11 and venv, from Debian's packages: the base image for the
# project's Dockerfile on machines that cannot pull python:3.12-slim.
# Usage: scripts/podman-python-base.sh   (prints the image name; reuses it if present)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers/containers.conf}
image=localhost/debian-python:bookworm
if podman image exists "$image"; then
  echo "$image"
  exit 0
fi
if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates,passwd \
  bookworm "$rootfs" "${mirror:-http://deb.debian.org/debian}" >/dev/null
tar -C "$rootfs" -c . | podman import -q - "$image" >/dev/null
echo "$image"
