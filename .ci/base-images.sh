#!/usr/bin/env bash
# Make the compose file's base images available, and record which ones to use in
# the repo's .env (read by `docker compose` and by the smoke), so later shells need
# no exports. Public images are used when present or pullable; otherwise local
# stand-ins are built from Debian packages. Idempotent: seconds when images exist.
set -euo pipefail
shopt -s inherit_errexit
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/lib.sh"

public_python=python:3.12-slim
public_db=postgres:16-alpine
standin_debian=contoso-smoke/debian:bookworm
standin_python=contoso-smoke/python:3-bookworm
# Tagged by what builds it: a changed stand-in is built again, not taken as it was.
standin_db=contoso-smoke/postgres:15-bookworm-$(cat "$here"/images/postgres/* | sha256sum | cut -c1-12)

have_image() { docker image inspect "$1" >/dev/null 2>&1; }
# A registry that cannot be reached answers quickly; bound it anyway.
try_pull() { timeout 60 docker pull -q "$1" >/dev/null 2>&1; }

build_debian_rootfs() {
  have_image "$standin_debian" && return 0
  command -v mmdebstrap >/dev/null || {
    ci_log "base images: installing mmdebstrap"
    ci_retry 3 5 ci_apt update -qq
    ci_retry 3 5 ci_apt install -y -qq mmdebstrap >/dev/null
  }
  # mmdebstrap, not debootstrap: apt fetches the packages side by side (about 13 s
  # here, against 26), and it writes a tarball, with apt's lists and archives left out.
  local tarball
  tarball=$(mktemp /tmp/contoso-rootfs.XXXXXX.tar)
  ci_log "base images: mmdebstrap bookworm (minbase) into $tarball"
  ci_retry 2 5 mmdebstrap --variant=minbase --quiet bookworm "$tarball" http://deb.debian.org/debian
  docker import "$tarball" "$standin_debian" >/dev/null
  rm -f "$tarball"
}

build_standin() { # TAG CONTEXT
  ci_log "base images: building stand-in $1"
  DOCKER_BUILDKIT=0 docker build -q --build-arg "DEBIAN_IMAGE=$standin_debian" -t "$1" "$2" >/dev/null
}

# PUBLIC STANDIN -> prints the image to use: the public one when present or pullable.
public_or_standin() {
  if have_image "$1" || try_pull "$1"; then echo "$1"; else echo "$2"; fi
}

python_image=$(public_or_standin "$public_python" "$standin_python")
db_image=$(public_or_standin "$public_db" "$standin_db")

# The stand-ins still missing, from one minimal Debian, built side by side
# (each is mostly apt inside its build).
declare -A standin_context=(["$standin_python"]="$here/images/python" ["$standin_db"]="$here/images/postgres")
builds=()
for image in "$python_image" "$db_image"; do
  [ -n "${standin_context[$image]:-}" ] || continue
  have_image "$image" && continue
  build_debian_rootfs
  build_standin "$image" "${standin_context[$image]}" &
  builds+=($!)
done
for build in "${builds[@]}"; do wait "$build"; done

ca_file=
[ -s /etc/ssl/certs/ca-certificates.crt ] && ca_file=/etc/ssl/certs/ca-certificates.crt

cat >"$root/.env" <<ENV
# Written by .ci/base-images.sh for this machine; not committed.
SMOKE_PYTHON_IMAGE=$python_image
SMOKE_DB_IMAGE=$db_image
SMOKE_BUILD_CA_FILE=$ca_file
ENV
ci_log "base images: python=$python_image db=$db_image (recorded in .env)"
