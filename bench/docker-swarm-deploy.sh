#!/usr/bin/env bash
# Peer measurement for the deploy benchmark (bench/deploy.ts): Docker Swarm
# from Debian's docker.io, on this machine, with nothing borrowed from a
# system Docker. Run as root:
#
#   bench/docker-swarm-deploy.sh [--runs 3] [--replicas 100] [--keep-log DIR] [--allow-pull]
#
# What it does:
#   * installs docker.io if dockerd is missing (what scripts/setup.sh --bench does);
#   * starts a private dockerd (data root, exec root, pidfile, socket and cgroup
#     parent all its own; no bridge, no iptables: tasks get an empty network
#     namespace, as tsswarm tasks do) and talks only to its socket;
#   * loads busybox:latest from scripts/make-busybox-image.sh --docker-save (no registry);
#   * by default runs dockerd with DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1: otherwise
#     every swarm task first tries to pull busybox:latest from Docker Hub, which
#     here means a DNS failure per task (sometimes a 5 s resolver timeout) before
#     it falls back to the local image; --allow-pull measures that stock behaviour;
#   * swarm init on 127.0.0.1, then per run: scale 10→N and deploy 0→N of
#     `busybox httpd -f -p 8080 -h /var/www` with a 1s stop grace period.
#
# Prints one JSON line on stdout, progress on stderr. Two timings per step:
#   deployMs/scaleMs       command start → last task of N reported Running
#                          (the newest task Status.Timestamp): what tsswarm's
#                          "until N/N run" measures;
#   deployCliMs/scaleCliMs wall time of the blocking docker command, which on
#                          20.10 waits for convergence and then a further 5 s
#                          "verify" window (the update monitor period).
# Everything it creates (daemon, containers, mounts, links, cgroups, the files
# dockerd insists on writing to /etc/docker and /run) is removed on exit,
# failure or Ctrl-C included.
set -euo pipefail

runs=3 replicas=100 keep_log="" prefer_offline=1
while (($#)); do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --replicas) replicas="$2"; shift 2 ;;
    --keep-log) keep_log="$2"; shift 2 ;;
    --allow-pull) prefer_offline=0; shift ;;
    -h|--help) sed -n '2,31p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--runs R] [--replicas N] [--keep-log DIR] [--allow-pull]" >&2; exit 2 ;;
  esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ && "$replicas" =~ ^[1-9][0-9]*$ ]] || { echo "docker-swarm-deploy: --runs and --replicas take positive integers" >&2; exit 2; }

here=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'docker-swarm-deploy: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
now_ns() { date +%s%N; }

[[ $(id -u) -eq 0 ]] || die "must run as root (dockerd needs it)"

# --- 1. docker.io ------------------------------------------------------------
# shellcheck source=bench/dockerd-lib.sh
source "$here/bench/dockerd-lib.sh"
ensure_docker_io
[[ -x /bin/busybox ]] || die "/bin/busybox missing; run scripts/setup.sh (busybox-static)"
for c in ip findmnt; do command -v "$c" >/dev/null || die "$c not found (iproute2/util-linux)"; done

# --- state we must not clobber, recorded before dockerd starts ---------------
ip link show docker_gwbridge >/dev/null 2>&1 &&
  die "a docker_gwbridge link already exists (another dockerd?); refusing to share it"
record_host_state

tmp=$(mktemp -d /tmp/docker-swarm-bench.XXXXXX)
cg_parent="/$(basename "$tmp")"   # unique cgroup parent for every container
sock="$tmp/docker.sock"
export DOCKER_HOST="unix://$sock" DOCKER_CONFIG="$tmp/cli"
dockerd_pid=""

d() { "$DOCKER" "$@"; }

# Every process whose command line names our temp dir (dockerd, its containerd,
# the shims), and every process in our cgroup parent (the containers).
our_pids() {
  pids_naming "$tmp"
  find /sys/fs/cgroup/pids"$cg_parent" -name cgroup.procs -exec cat {} + 2>/dev/null || true
}

cleanup() {
  local rc=$? i p m
  trap - EXIT INT TERM
  set +e
  if [[ -n "$dockerd_pid" ]] && kill -0 "$dockerd_pid" 2>/dev/null; then
    if [[ -S "$sock" ]]; then
      timeout 20 "$DOCKER" service rm web >/dev/null 2>&1
      for ((i = 0; i < 60; i++)); do
        [[ -z $(timeout 10 "$DOCKER" ps -aq 2>/dev/null) ]] && break
        sleep 0.5
      done
      timeout 30 "$DOCKER" swarm leave --force >/dev/null 2>&1
    fi
    kill -TERM "$dockerd_pid" 2>/dev/null
    for ((i = 0; i < 60; i++)); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$dockerd_pid" 2>/dev/null && { log "dockerd $dockerd_pid ignored SIGTERM; killing"; kill -KILL "$dockerd_pid"; }
  fi
  # Leftover containerd, shims, container processes: ours only, by PID.
  kill_leftovers our_pids
  # Mounts under the temp dir (overlays, netns files, the data-root bind), deepest first.
  umount_under "$tmp"
  # Network: docker_gwbridge is created by swarm even with --bridge=none; it did not exist before.
  ip link show docker_gwbridge >/dev/null 2>&1 && ip link delete docker_gwbridge
  # Cgroups: children first, in every hierarchy.
  for m in /sys/fs/cgroup/*"$cg_parent"; do
    [[ -d "$m" ]] && find "$m" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  restore_host_state
  if [[ -n "$keep_log" && -f "$tmp/dockerd.log" ]]; then mkdir -p "$keep_log" && cp "$tmp/dockerd.log" "$keep_log/"; fi
  if findmnt -rn -o TARGET | grep -qF "$tmp"; then
    log "warning: mounts under $tmp survived; leaving $tmp in place"
  else
    rm -rf "$tmp"
  fi
  local left; left=$(our_pids | sort -u | tr '\n' ' ')
  [[ -n "$left" ]] && log "warning: processes still alive: $left"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 2. a private dockerd --------------------------------------------------------
start_dockerd() { # start_dockerd DRIVER → 0 when up with that driver
  local driver="$1" i
  mkdir -p "$tmp/data" "$tmp/exec"
  DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=$prefer_offline "$DOCKERD" --data-root "$tmp/data" --exec-root "$tmp/exec" --pidfile "$tmp/dockerd.pid" \
    -H "unix://$sock" --storage-driver "$driver" \
    --bridge=none --iptables=false --ip-masq=false --ip-forward=false \
    --cgroup-parent "$cg_parent" --shutdown-timeout 5 --log-level warn \
    >"$tmp/dockerd.log" 2>&1 </dev/null &
  dockerd_pid=$!
  for ((i = 0; i < 120; i++)); do
    kill -0 "$dockerd_pid" 2>/dev/null || { wait "$dockerd_pid" 2>/dev/null; dockerd_pid=""; return 1; }
    [[ -S "$sock" ]] && d version >/dev/null 2>&1 && break
    sleep 0.25
  done
  [[ $(d info --format '{{.Driver}}' 2>/dev/null) == "$driver" ]]
}
stop_failed_dockerd() {
  if [[ -n "$dockerd_pid" ]]; then
    kill -TERM "$dockerd_pid" 2>/dev/null
    for ((i = 0; i < 40; i++)); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$dockerd_pid" 2>/dev/null; wait "$dockerd_pid" 2>/dev/null
    dockerd_pid=""
  fi
  local m; m=$(findmnt -rn -o TARGET | grep -F "$tmp" | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2-)
  [[ -n "$m" ]] && while IFS= read -r p; do umount "$p" 2>/dev/null || umount -l "$p"; done <<<"$m"
  rm -rf "$tmp/data" "$tmp/exec"
}

drivers=(overlay2)
command -v fuse-overlayfs >/dev/null && drivers+=(fuse-overlayfs)
drivers+=(vfs)
driver="" tried=()
for drv in "${drivers[@]}"; do
  log "starting dockerd (storage driver $drv) in $tmp"
  if start_dockerd "$drv"; then driver="$drv"; break; fi
  reason=$(grep -E 'level=(error|fatal)|failed to start' "$tmp/dockerd.log" | tail -1 | sed -E 's/.*msg="?//; s/"$//' || true)
  tried+=("$drv: ${reason:-did not come up}")
  cp "$tmp/dockerd.log" "$tmp/dockerd-$drv.log" 2>/dev/null || true
  stop_failed_dockerd
done
[[ -n "$driver" ]] || die "dockerd did not start with any storage driver (${tried[*]})"
server_version=$(d version --format '{{.Server.Version}}')
log "dockerd $server_version up (pid $dockerd_pid, $driver, cgroup parent $cg_parent)"

# --- 3. busybox:latest without a registry ------------------------------------
[[ -x "$here/scripts/make-busybox-image.sh" || -f "$here/scripts/make-busybox-image.sh" ]] ||
  die "scripts/make-busybox-image.sh not found"
bash "$here/scripts/make-busybox-image.sh" "$tmp/busybox.tar" --docker-save busybox:latest ||
  die "building the busybox docker-save archive failed"
d load -i "$tmp/busybox.tar" >&2 || die "docker load of the busybox archive failed"
d run --rm --network none busybox:latest true ||
  die "a plain 'docker run busybox' fails on this daemon (see the error above)"

# --- 4. swarm --------------------------------------------------------------------
d swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 --data-path-addr 127.0.0.1 >/dev/null ||
  die "docker swarm init failed"

svc_args=(--name web --stop-grace-period 1s --no-resolve-image busybox:latest httpd -f -p 8080 -h /var/www)

# running_count → number of tasks of web whose state is running
running_count() {
  local ids; ids=$(d service ps web -q --filter desired-state=running 2>/dev/null) || { echo 0; return; }
  [[ -z "$ids" ]] && { echo 0; return; }
  # shellcheck disable=SC2086
  d inspect --format '{{.Status.State}}' $ids 2>/dev/null | grep -c '^running$' || true
}
# converged_ms T0 N → ms from T0 (ns) to the newest Running timestamp among the
# N desired-running tasks; fails unless exactly N of them run.
converged_ms() {
  local t0="$1" n="$2" ids out
  ids=$(d service ps web -q --filter desired-state=running)
  # shellcheck disable=SC2086
  out=$(d inspect --format '{{.Status.State}} {{.Status.Timestamp.UnixNano}}' $ids)
  local running; running=$(grep -c '^running ' <<<"$out" || true)
  [[ "$running" == "$n" ]] || { log "expected $n running tasks, found $running"; return 1; }
  awk -v t0="$t0" '$1 == "running" && $2 > m { m = $2 } END { printf "%d\n", (m - t0) / 1e6 }' <<<"$out"
}
remove_web() {
  local i
  d service rm web >/dev/null 2>&1 || true
  for ((i = 0; i < 240; i++)); do
    [[ -z $(d ps -aq --filter label=com.docker.swarm.service.name=web) ]] && ! d service inspect web >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "the containers of service web were still there 2 minutes after docker service rm"
}
# timed CMD... → sets cli_ms and t0 for the blocking command
timed() {
  t0=$(now_ns)
  timeout 900 "$@" >"$tmp/cmd.out" 2>&1 || { tail -5 "$tmp/cmd.out" >&2; die "'${*:1:4}…' failed or timed out"; }
  cli_ms=$(( ($(now_ns) - t0) / 1000000 ))
}

scale_ms=() scale_cli=() deploy_ms=() deploy_cli=()
for ((r = 1; r <= runs; r++)); do
  # scale 10 → N
  timeout 300 "$DOCKER" service create --replicas 10 "${svc_args[@]}" >"$tmp/cmd.out" 2>&1 ||
    { tail -5 "$tmp/cmd.out" >&2; die "docker service create --replicas 10 failed or timed out"; }
  [[ $(running_count) == 10 ]] || die "service web did not reach 10/10"
  timed "$DOCKER" service scale "web=$replicas"
  ms=$(converged_ms "$t0" "$replicas") || die "scale to $replicas did not converge"
  scale_ms+=("$ms") scale_cli+=("$cli_ms")
  remove_web
  # deploy 0 → N
  timed "$DOCKER" service create --replicas "$replicas" "${svc_args[@]}"
  ms=$(converged_ms "$t0" "$replicas") || die "deploy of $replicas did not converge"
  deploy_ms+=("$ms") deploy_cli+=("$cli_ms")
  remove_web
  log "run $r/$runs: deploy 0→$replicas ${deploy_ms[-1]} ms (cli ${deploy_cli[-1]} ms), scale 10→$replicas ${scale_ms[-1]} ms (cli ${scale_cli[-1]} ms)"
done

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%d\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
list() { local IFS=,; echo "[$*]"; }
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//; s/"/\\"/g')
printf '{"peer":"docker-swarm %s","date":"%s","machine":"%s, %s cores","storageDriver":"%s","preferOfflineImage":%s,"replicas":%d,"runs":%d,"deployMedianMs":%d,"scaleMedianMs":%d,"deployCliMedianMs":%d,"scaleCliMedianMs":%d,"deployMs":%s,"scaleMs":%s}\n' \
  "$server_version" "$(date -u +%F)" "$cpu" "$(nproc)" "$driver" "$( ((prefer_offline)) && echo true || echo false)" "$replicas" "$runs" \
  "$(median "${deploy_ms[@]}")" "$(median "${scale_ms[@]}")" \
  "$(median "${deploy_cli[@]}")" "$(median "${scale_cli[@]}")" \
  "$(list "${deploy_ms[@]}")" "$(list "${scale_ms[@]}")"
