#!/usr/bin/env bash
# The container deployment built and run with podman on a machine that reaches no image
# registry (the tests' machines): the Debian base made with debootstrap and cached, PostgreSQL,
# Redis and nginx images made from Debian's packages on it (docker/test/Dockerfile), the
# broker's runtime image around a binary built on the host (docker/Dockerfile, target
# `prebuilt`), and docker/compose.yaml run by podman-compose with docker/compose.test.yaml on
# top. tests/tests/containers.rs drives it; see docker/README.md, "Without a registry".
#
#   docker/test-image.sh base                 the Debian base image (cached)
#   docker/test-image.sh prepare              the base and the PostgreSQL, Redis and nginx images
#                                             (cached; scripts/setup runs this)
#   docker/test-image.sh build [BINARY]       base, service images, and the broker image around
#                                             BINARY (default target/debug/broker), tagged
#                                             localhost/pan-canadian-broker:$PCB_TEST_TAG
#   docker/test-image.sh up                   the stack (project $PCB_TEST_PROJECT), each health
#                                             check passed; needs the PCB_TEST_* variables of
#                                             compose.test.yaml
#   docker/test-image.sh healthy SERVICE...   waits until each service's health check passes
#   docker/test-image.sh down                 the stack and its volumes removed
#   docker/test-image.sh compose ARGS...      podman-compose on both files
#   docker/test-image.sh podman ARGS...       podman on this script's store
#   docker/test-image.sh container SERVICE    the name of the service's container
#   docker/test-image.sh clean                drops the broker image $PCB_TEST_TAG
#
# podman runs as root with runc, cgroupfs and no default ulimits (what works in these
# sandboxes), the overlay storage driver (vfs where overlay cannot mount), on a store of its own
# under the cache directory
# ($PCB_CONTAINER_CACHE, default ~/.cache/pan-canadian-broker): the base, the service images
# and the image layers stay there between runs; the broker image and the stacks do not.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${PCB_CONTAINER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pan-canadian-broker}
mirror=${PCB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
project=${PCB_TEST_PROJECT:-pcb-test}
tag=${PCB_TEST_TAG:-test}
base_image=docker.io/library/debian:bookworm-slim
# The base is made again when older than this (security updates come with it).
base_max_age_days=30

say() { echo "test-image: $*" >&2; }
die() { say "$*"; exit 1; }

if [ "$(id -u)" != 0 ]; then
  # Rootful podman: the measured setup (rootless needs subordinate ids and user namespaces).
  command -v sudo >/dev/null 2>&1 || die "podman runs as root here: run as root or with sudo (without a password)"
  exec sudo -n --preserve-env "$0" "$@"
fi

# ---------------------------------------------------------------- podman's configuration
# The storage driver: overlay where the kernel mounts it (fast: layers are not copied), else
# vfs (every layer and container a full copy). Probed once per cache; PCB_STORAGE_DRIVER sets it.
mkdir -p "$cache"
driver=${PCB_STORAGE_DRIVER:-$(cat "$cache/storage-driver" 2>/dev/null || true)}
if [ -z "$driver" ]; then
  probe=$(mktemp -d)
  mkdir "$probe/lower" "$probe/upper" "$probe/work" "$probe/merged"
  if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" \
    "$probe/merged" 2>/dev/null; then
    umount "$probe/merged"
    driver=overlay
  else
    driver=vfs
  fi
  rm -rf "$probe"
  echo "$driver" > "$cache/storage-driver"
fi
store=$cache/containers-$driver
mkdir -p "$store"
# The run root and podman's temporary directory hold sockets whose paths must stay short (with
# a run root of 55 characters every `podman run` waits 20 s for conmon): under /run, named
# after the store.
state=/run/pcb-podman-$(echo "$store" | sha256sum | cut -c1-8)
cat > "$store/containers.conf.new" <<EOF
[containers]
# The sandbox refuses raising limits (setrlimit): no default ulimits.
default_ulimits = []
log_driver = "k8s-file"

[engine]
# crun fails on cgroups in hybrid mode; runc works.
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$state/tmp"
EOF
cat > "$store/storage.conf.new" <<EOF
[storage]
driver = "$driver"
graphroot = "$store/storage"
runroot = "$state/run"
EOF
for f in containers.conf storage.conf; do
  if cmp -s "$store/$f.new" "$store/$f"; then rm "$store/$f.new"; else mv "$store/$f.new" "$store/$f"; fi
done
export CONTAINERS_CONF=$store/containers.conf
export CONTAINERS_STORAGE_CONF=$store/storage.conf

# /run may be on disk (it is in these sandboxes), so after a reboot the run root would
# describe containers that no longer run: start it afresh on each boot.
boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
if [ "$(cat "$state/boot_id" 2>/dev/null)" != "$boot_id" ]; then
  rm -rf "$state"
  mkdir -p "$state"
  echo "$boot_id" > "$state/boot_id"
fi

pm() { podman "$@"; }

# ---------------------------------------------------------------- the Debian base
# debian:bookworm-slim as far as the Dockerfiles need it: debootstrap's minbase (apt, bash,
# coreutils, glibc, libgcc), Debian's three suites, no documentation, no apt lists.
base() {
  local tar=$cache/debian-bookworm-slim.tar
  if [ ! -s "$tar" ] || [ -n "$(find "$tar" -mtime +"$base_max_age_days" 2>/dev/null)" ]; then
    command -v debootstrap >/dev/null 2>&1 || die "debootstrap is missing (scripts/setup installs it)"
    say "debootstrap bookworm (minbase) from $mirror into the cache"
    local root
    root=$(mktemp -d "$cache/rootfs.XXXXXX")
    chmod 0755 "$root" # the image's / (mktemp makes it 0700: no user but root could run)
    # shellcheck disable=SC2064
    trap "rm -rf '$root'" EXIT
    local started=$SECONDS
    if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1; then
      tail -n 20 "$cache/debootstrap.log" >&2
      die "debootstrap failed (whole log: $cache/debootstrap.log)"
    fi
    rm -f "$root/etc/apt/sources.list"
    cat > "$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    cat > "$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
      "$root"/usr/share/doc/*/changelog* "$root"/usr/share/man/* "$root"/usr/share/locale/* \
      "$root"/var/log/* "$root/etc/hostname" "$root/etc/resolv.conf"
    tar --numeric-owner -C "$root" -cf "$tar.new" .
    mv "$tar.new" "$tar"
    rm -rf "$root"
    trap - EXIT
    say "base made in $((SECONDS - started)) s"
  fi
  # The store holds the image of this tarball, or it is imported again (every layer above it
  # is then built again too).
  local stamp
  # The tarball's time, and the version of what import adds to it (ENV, CMD).
  stamp=$(stat -c %Y "$tar")-2
  if [ "$(pm image inspect --format '{{index .Config.Labels "pcb.base"}}' "$base_image" 2>/dev/null)" != "$stamp" ]; then
    say "importing the base as $base_image"
    pm import --quiet --change "LABEL pcb.base=$stamp" \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' "$tar" "$base_image" >/dev/null
    pm run --rm --network none --user 65534:65534 "$base_image" true ||
      die "the base image $base_image does not run a program as a user other than root"
  fi
}

# One run at a time makes the cached images (another waits for it).
lock() {
  exec 9>"$cache/images.lock"
  flock 9
}

# ---------------------------------------------------------------- images
# podman build, its output kept in the cache and shown only when it fails.
image_build() {
  local log=$cache/build.log
  if ! pm build --pull=never --network host "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "podman build $* failed (whole log: $log)"
  fi
}

# The base and the service images: all that does not depend on the broker's build.
prepare() {
  lock
  base
  # The service images change only with docker/test/ and the base: built again only then
  # (a build that finds every layer cached still takes seconds, 20 s each on vfs).
  local inputs t image stamp
  inputs=$( (cat "$repo/docker/test/Dockerfile" "$repo/docker/test/entrypoint.sh"
    pm image inspect --format '{{.Id}}' "$base_image") | sha256sum | cut -c1-16)
  for t in postgres redis nginx; do
    image=localhost/pan-canadian-broker-test/$t:bookworm
    stamp=$store/$t.inputs
    if [ "$(cat "$stamp" 2>/dev/null)" != "$inputs" ] || ! pm image exists "$image"; then
      say "building $image"
      image_build -f "$repo/docker/test/Dockerfile" --target "$t" -t "$image" "$repo/docker/test"
      echo "$inputs" > "$stamp"
    fi
  done
  # The broker image's runtime stage (apt-get: the one step that needs Debian's mirror), into
  # the layer cache that each run's `build` takes it from. It has no COPY: any context will do.
  image_build -f "$repo/docker/Dockerfile" --target runtime -t localhost/pan-canadian-broker-test/runtime:bookworm "$repo/docker/test"
  flock -u 9
}

build() {
  local binary=${1:-$repo/target/debug/broker}
  [ -x "$binary" ] || die "no broker binary at $binary (cargo build -p broker)"
  prepare
  local context
  context=$(mktemp -d)
  # shellcheck disable=SC2064
  trap "rm -rf '$context'" EXIT
  cp "$binary" "$context/broker"
  image_build -f "$repo/docker/Dockerfile" --target prebuilt -t "localhost/pan-canadian-broker:$tag" "$context"
  rm -rf "$context"
  trap - EXIT
  say "built localhost/pan-canadian-broker:$tag around $binary"
}

# ---------------------------------------------------------------- the stack
# Every variable comes from the environment: --env-file /dev/null keeps an operator's
# docker/.env out of the test.
compose() {
  python3 -m podman_compose --project-name "$project" --env-file /dev/null \
    -f "$repo/docker/compose.yaml" -f "$repo/docker/compose.test.yaml" "$@"
}

container() {
  pm ps -a --filter "label=io.podman.compose.project=$project" \
    --filter "label=com.docker.compose.service=$1" --format '{{.Names}}' | head -n 1
}

# What the health check's command says when run in the container (podman keeps no output of
# a check that could not start).
explain_health() {
  local -a argv
  mapfile -t argv < <(pm inspect --format '{{json .Config.Healthcheck.Test}}' "$1" | python3 -c '
import json, sys
test = json.load(sys.stdin) or []
argv = test[1:] if test[:1] == ["CMD"] else ["sh", "-c", test[1]] if test[:1] == ["CMD-SHELL"] else []
print("\n".join(argv))')
  ((${#argv[@]})) || return 0
  say "the check (${argv[*]}) run again:"
  pm exec "$1" "${argv[@]}" >&2 2>&1 || true
}

# podman 4.3 runs health checks from systemd timers, and there is no systemd here: each check
# is run by hand until it passes. A container that keeps exiting (restarted by its policy)
# fails at once, with its log.
healthy() {
  local service name said restarts deadline=$((SECONDS + ${PCB_HEALTH_TIMEOUT:-60}))
  for service in "$@"; do
    name=$(container "$service")
    [ -n "$name" ] || die "no container for $service"
    until said=$(pm healthcheck run "$name" 2>&1); do
      restarts=$(pm inspect --format '{{.RestartCount}}' "$name" 2>/dev/null || echo 0)
      if ((SECONDS > deadline || restarts >= 3)); then
        say "$service ($name) never passed its health check (restarted $restarts times): $said"
        explain_health "$name"
        say "the end of its log:"
        pm logs --tail 40 "$name" >&2 || true
        die "$service is not healthy"
      fi
      sleep 1
    done
  done
}

# podman-compose, its output kept and shown only when it fails (podman 4.3 also complains on
# every start that there is no systemd to schedule health checks).
compose_quiet() {
  local log=$cache/compose-$project.log
  if ! compose "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "podman-compose $* failed (whole log: $log)"
  fi
}

# netavark 1.4 leaves the MAC address of the network's bridge to the kernel, which gives it the
# lowest of its ports' and changes it whenever a container with a lower one joins: a container
# that learnt the old one loses its gateway for up to 30 s, and with it podman's resolver
# (aardvark-dns, on the gateway's address: a replica then waits 5 s for a name, past its
# records timeout, and stops) and the host (the test's provider, the published port). Pinned
# as it is once the first containers are on it.
pin_bridge() {
  local bridge
  bridge=$(pm network inspect "${project}_default" --format '{{.NetworkInterface}}')
  [ -e "/sys/class/net/$bridge/address" ] || die "no bridge $bridge for ${project}_default"
  ip link set dev "$bridge" address "$(cat "/sys/class/net/$bridge/address")"
}

# The stores first, healthy (what depends_on's service_healthy asks, which podman-compose
# skips before podman 4.6), then the replicas and the balancer.
up() {
  local started=$SECONDS
  compose_quiet up -d --no-build postgres redis
  healthy postgres redis
  pin_bridge
  compose_quiet up -d --no-build
  healthy broker-a broker-b
  say "stack $project up and healthy in $((SECONDS - started)) s"
}

down() {
  compose down -v -t 5 >/dev/null 2>&1 || true
  # What compose leaves when a run was cut short.
  local -a leftovers
  mapfile -t leftovers < <(pm ps -aq --filter "label=io.podman.compose.project=$project")
  ((${#leftovers[@]} == 0)) || pm rm -f -t 0 "${leftovers[@]}" >/dev/null 2>&1 || true
  pm volume rm -f "${project}_records" >/dev/null 2>&1 || true
  pm network rm -f "${project}_default" >/dev/null 2>&1 || true
  # netavark 1.4 leaves the port forwarding's chain of each network behind, empty: one more
  # for every run. Empty ones are dropped (iptables refuses to drop one still referenced).
  local chain
  for chain in $(iptables -t nat -S 2>/dev/null | sed -n 's/^-N \(NETAVARK-DN-[0-9A-F]*\)$/\1/p'); do
    if [ "$(iptables -t nat -S "$chain" 2>/dev/null | wc -l)" = 1 ]; then
      iptables -t nat -X "$chain" 2>/dev/null || true
    fi
  done
}

clean() {
  pm rmi -f "localhost/pan-canadian-broker:$tag" >/dev/null 2>&1 || true
  pm image prune -f >/dev/null 2>&1 || true
}

command -v podman >/dev/null 2>&1 || die "podman is missing (scripts/setup installs it)"
command -v runc >/dev/null 2>&1 || die "runc is missing (scripts/setup installs it)"

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  base) lock; base ;;
  prepare) prepare ;;
  build) build "$@" ;;
  up) up ;;
  healthy) healthy "$@" ;;
  down) down ;;
  compose) compose "$@" ;;
  podman) pm "$@" ;;
  container) container "$@" ;;
  clean) clean ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 64 ;;
esac
