#!/usr/bin/env bash
# Peer measurement for the multi-host benchmark: Docker Swarm from Debian's
# docker.io (20.10) with one dockerd per test host, 3 hosts on this machine.
# Run as root:
#
#   bench/docker-swarm-multihost.sh [--runs 3] [--grace 1s] [--keep-log DIR] [--hold]
#
# What it does:
#   * makes network namespaces h1..h3 and a switch namespace with a bridge,
#     underlay 10.213.0.1-3/24 on veths (the layout of
#     test/integration/harness/hosts.ts); programs enter a host with
#     `nsenter --net=/run/netns/X` (not `ip netns exec`, which remounts /sys);
#   * starts one dockerd per host inside its namespace (and its own UTS
#     namespace, hostname h1..h3): data root, exec root, pidfile, socket, trust
#     key, cgroup parent and dockerd-managed containerd (socket and state under
#     the exec root, content under the data root) all its own; no docker0
#     (--bridge=none, --ip-masq=false, --ip-forward=false); iptables is left ON
#     because the embedded DNS server (127.0.0.11, tasks.<service>) is a DNAT
#     rule in each container's namespace; every rule lands in the host
#     namespaces' own netfilter tables, never in this machine's;
#   * swarm init on h1 (10.213.0.1), h2 and h3 join as workers; busybox:latest
#     (scripts/make-busybox-image.sh --docker-save) is loaded on every node;
#     DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 and --no-resolve-image: no registry;
#   * per run: overlay network benchnet + service client (1 replica, sleep),
#     then times
#       deploy30Ms  `docker service create --name web --network benchnet
#                   --replicas 30 … busybox httpd -f -p 8080 -h /var/www` until
#                   all 30 tasks are reachable by name from the client;
#       scale90Ms   `docker service scale web=90` until all 90 are;
#       rm90Ms      `docker service rm web` until none of its containers is
#                   left on any node;
#     "reachable by name": inside the client (docker exec on the node that
#     runs it) a DNS query for tasks.web to 127.0.0.11 answers exactly N
#     addresses and an HTTP GET to each of them answers. The query goes over
#     TCP: over UDP the embedded DNS truncates an answer to 512 bytes (30 A
#     records) and busybox nslookup does not retry over TCP.
#
# Prints one JSON line on stdout, progress on stderr. Everything it creates
# (daemons, containerds, shims, containers, mounts, namespaces, cgroups, the
# files dockerd writes to /etc/docker and /run) is removed on exit, failure or
# Ctrl-C included. --hold stops after the swarm is up until a file it names is
# removed (debugging; the DOCKER_HOST of each node is printed).
set -euo pipefail

runs=3 grace=1s keep_log="" hold=0 n1=30 n2=90
while (($#)); do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --grace) grace="$2"; shift 2 ;;
    --keep-log) keep_log="$2"; shift 2 ;;
    --hold) hold=1; shift ;;
    -h|--help) sed -n '2,45p' "$0"; exit 0 ;;
    *) echo "usage: $0 [--runs R] [--grace DURATION] [--keep-log DIR] [--hold]" >&2; exit 2 ;;
  esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "docker-swarm-multihost: --runs takes a positive integer" >&2; exit 2; }

here=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'docker-swarm-multihost: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
now_ns() { date +%s%N; }
ms_since() { echo $(( ($(now_ns) - $1) / 1000000 )); }

[[ $(id -u) -eq 0 ]] || die "must run as root (dockerd and network namespaces need it)"

# --- 1. tools ------------------------------------------------------------------
# The Debian binaries, by path: /usr/local/bin/docker (if any) may be another CLI.
DOCKERD=/usr/sbin/dockerd DOCKER=/usr/bin/docker
if [[ ! -x $DOCKERD || ! -x $DOCKER ]]; then
  log "installing docker.io (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  made_policy=""   # keep docker.io's postinst from starting the *system* dockerd
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d && made_policy=1
  fi
  rc=0
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null || rc=$?
  [[ -n "$made_policy" ]] && rm -f /usr/sbin/policy-rc.d
  ((rc == 0)) || die "apt-get install docker.io failed (exit $rc); run apt-get update?"
fi
[[ -x /bin/busybox ]] || die "/bin/busybox missing; run scripts/setup.sh (busybox-static)"
for c in ip findmnt nsenter unshare iptables; do command -v "$c" >/dev/null || die "$c not found (iproute2/util-linux/iptables)"; done
[[ -e /run/containerd/containerd.sock ]] &&
  die "/run/containerd/containerd.sock exists: dockerd would use that system containerd instead of one per host"

# --- state we must not clobber, recorded before anything starts ----------------
pre_exist() { [[ -e "$1" ]] && echo 1 || echo ""; }
had_etc_docker=$(pre_exist /etc/docker) had_key=$(pre_exist /etc/docker/key.json)
had_run_docker=$(pre_exist /run/docker) had_run_docker_plugins=$(pre_exist /run/docker/plugins)
had_run_docker_libnetwork=$(pre_exist /run/docker/libnetwork)
had_run_containerd=$(pre_exist /run/containerd) had_run_containerd_s=$(pre_exist /run/containerd/s)
had_xtables_lock=$(pre_exist /run/xtables.lock) had_run_netns=$(pre_exist /run/netns)
nft_before=$(nft list tables 2>/dev/null || true)
links_before=$(ip -o link show | awk -F': ' '{ print $2 }' | sort)

tmp=$(mktemp -d /tmp/dswm.XXXXXX)
tag=${tmp##*.}
sw_ns="dswm-$tag-sw"
hosts=(1 2 3)
ns_of() { echo "dswm-$tag-h$1"; }
addr_of() { echo "10.213.0.$1"; }
cg_of() { echo "/dswm-$tag-h$1"; }           # cgroup parent of host i's containers
sock_of() { echo "$tmp/h$1/docker.sock"; }
declare -A dockerd_pid=()
made_ns=()
export DOCKER_CONFIG="$tmp/cli"

# dk I ARGS… → the Debian docker CLI against host I's dockerd
dk() { local i="$1"; shift; DOCKER_HOST="unix://$(sock_of "$i")" "$DOCKER" "$@"; }

# Every process whose command line names our temp dir (dockerds, containerds,
# shims), and every process in one of our cgroup parents (the containers).
our_pids() {
  local p i
  for p in /proc/[0-9]*; do
    [[ ${p#/proc/} == "$$" ]] && continue
    { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF "$tmp/" && echo "${p#/proc/}"
  done
  for i in "${hosts[@]}"; do
    find /sys/fs/cgroup/pids"$(cg_of "$i")" -name cgroup.procs -exec cat {} + 2>/dev/null || true
  done
}

umount_under_tmp() {
  local i m p
  for ((i = 0; i < 3; i++)); do
    m=$(findmnt -rn -o TARGET | grep -F "$tmp" | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2-)
    [[ -z "$m" ]] && break
    while IFS= read -r p; do umount "$p" 2>/dev/null || umount -l "$p" 2>/dev/null; done <<<"$m"
  done
}

cleanup() {
  local rc=$? i h p m left
  trap - EXIT INT TERM
  set +e
  # Services away first (fewer containers for the daemons to stop), then the swarm.
  if [[ -n "${dockerd_pid[1]:-}" ]] && kill -0 "${dockerd_pid[1]}" 2>/dev/null && [[ -S $(sock_of 1) ]]; then
    timeout 20 "$DOCKER" -H "unix://$(sock_of 1)" service rm web client >/dev/null 2>&1
    for ((i = 0; i < 60; i++)); do
      left=""
      for h in "${hosts[@]}"; do
        [[ -S $(sock_of "$h") ]] && left+=$(timeout 10 "$DOCKER" -H "unix://$(sock_of "$h")" ps -aq 2>/dev/null)
      done
      [[ -z "$left" ]] && break
      sleep 0.5
    done
  fi
  for h in 3 2 1; do
    p=${dockerd_pid[$h]:-}
    [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null && [[ -S $(sock_of "$h") ]] &&
      timeout 30 "$DOCKER" -H "unix://$(sock_of "$h")" swarm leave --force >/dev/null 2>&1
  done
  for h in "${hosts[@]}"; do
    p=${dockerd_pid[$h]:-}
    [[ -n "$p" ]] && kill -TERM "$p" 2>/dev/null
  done
  for h in "${hosts[@]}"; do
    p=${dockerd_pid[$h]:-}
    [[ -z "$p" ]] && continue
    for ((i = 0; i < 60; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$p" 2>/dev/null && { log "dockerd $p (h$h) ignored SIGTERM; killing"; kill -KILL "$p"; }
  done
  # Leftover containerds, shims, container processes: ours only, by PID.
  for ((i = 0; i < 3; i++)); do
    p=$(our_pids | sort -u)
    [[ -z "$p" ]] && break
    kill -KILL $p 2>/dev/null
    sleep 0.5
  done
  # Mounts under the temp dir (overlays, netns files, the data-root binds), deepest first.
  umount_under_tmp
  # Namespaces: everything dockerd made inside them (docker_gwbridge, ingress
  # and overlay sandboxes' links, vxlan devices, netfilter rules) goes with them.
  for m in "${made_ns[@]}"; do ip netns del "$m" 2>/dev/null; done
  if [[ -z "$had_run_netns" && -d /run/netns && -z $(ls -A /run/netns 2>/dev/null) ]]; then
    umount /run/netns 2>/dev/null; rmdir /run/netns 2>/dev/null
  fi
  local links_after; links_after=$(ip -o link show | awk -F': ' '{ print $2 }' | sort)
  [[ "$links_after" != "$links_before" ]] && log "warning: links of this machine changed: $(comm -13 <(echo "$links_before") <(echo "$links_after") | tr '\n' ' ')"
  local nft_after; nft_after=$(nft list tables 2>/dev/null || true)
  [[ "$nft_after" != "$nft_before" ]] && log "warning: nft tables of this machine changed: $(diff <(echo "$nft_before") <(echo "$nft_after") | grep '^>' | tr '\n' ' ')"
  # Cgroups: children first, in every hierarchy.
  for h in "${hosts[@]}"; do
    for m in /sys/fs/cgroup/*"$(cg_of "$h")" /sys/fs/cgroup/*/"dswm-$tag-h$h"; do
      [[ -d "$m" ]] && find "$m" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
  done
  # Files dockerd 20.10 writes outside its roots; removed only if we made them.
  [[ -z "$had_key" ]] && rm -f /etc/docker/key.json
  [[ -z "$had_etc_docker" ]] && rmdir /etc/docker 2>/dev/null
  [[ -z "$had_run_docker_plugins" ]] && rmdir /run/docker/plugins 2>/dev/null
  [[ -z "$had_run_docker_libnetwork" ]] && rm -rf /run/docker/libnetwork 2>/dev/null
  [[ -z "$had_run_docker" ]] && rmdir /run/docker 2>/dev/null
  [[ -z "$had_run_containerd_s" ]] && rmdir /run/containerd/s 2>/dev/null
  [[ -z "$had_run_containerd" ]] && rmdir /run/containerd 2>/dev/null
  [[ -z "$had_xtables_lock" ]] && rm -f /run/xtables.lock  # an empty flock file iptables recreates on demand
  if [[ -n "$keep_log" ]]; then
    mkdir -p "$keep_log" && for h in "${hosts[@]}"; do cp "$tmp/h$h/dockerd.log" "$keep_log/dockerd-h$h.log" 2>/dev/null; done
  fi
  if findmnt -rn -o TARGET | grep -qF "$tmp"; then
    log "warning: mounts under $tmp survived; leaving $tmp in place"
  else
    rm -rf "$tmp"
  fi
  left=$(our_pids | sort -u | tr '\n' ' ')
  [[ -n "$left" ]] && log "warning: processes still alive: $left"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 2. the test network (as test/integration/harness/hosts.ts) ---------------
ip netns add "$sw_ns" && made_ns+=("$sw_ns") || die "ip netns add $sw_ns failed"
ip -n "$sw_ns" link add br0 type bridge && ip -n "$sw_ns" link set br0 up || die "bridge in $sw_ns failed"
for h in "${hosts[@]}"; do
  ns=$(ns_of "$h")
  ip netns add "$ns" && made_ns+=("$ns") || die "ip netns add $ns failed"
  ip -n "$ns" link set lo up &&
    ip -n "$sw_ns" link add "p$h" type veth peer name eth0 netns "$ns" &&
    ip -n "$sw_ns" link set "p$h" master br0 up &&
    ip -n "$ns" addr add "$(addr_of "$h")/24" dev eth0 &&
    ip -n "$ns" link set eth0 up || die "underlay veth for h$h failed"
done
nsenter --net="/run/netns/$(ns_of 3)" /bin/busybox ping -c1 -W2 "$(addr_of 1)" >/dev/null || die "h3 cannot reach h1 over the test bridge"

# --- 3. one dockerd per host --------------------------------------------------------
# start_dockerd I DRIVER → background dockerd in host I's netns (PID in dockerd_pid[I])
start_dockerd() {
  local i="$1" driver="$2" d="$tmp/h$1"
  mkdir -p "$d/data" "$d/exec"
  # nsenter and unshare exec (no fork) and so does sh: $! is dockerd's PID.
  DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 nsenter --net="/run/netns/$(ns_of "$i")" -- unshare --uts -- \
    sh -c 'hostname "$0" && exec "$@"' "h$i" \
    "$DOCKERD" --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" \
    -H "unix://$(sock_of "$i")" --deprecated-key-path "$d/key.json" --storage-driver "$driver" \
    --bridge=none --ip-masq=false --ip-forward=false \
    --cgroup-parent "$(cg_of "$i")" --shutdown-timeout 5 --log-level warn \
    >"$d/dockerd.log" 2>&1 </dev/null &
  dockerd_pid[$i]=$!
}
# wait_dockerd I DRIVER → 0 when host I's dockerd answers with that driver
wait_dockerd() {
  local i="$1" driver="$2" n p=${dockerd_pid[$1]}
  for ((n = 0; n < 160; n++)); do
    kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null; return 1; }
    [[ -S $(sock_of "$i") ]] && dk "$i" version >/dev/null 2>&1 && break
    sleep 0.25
  done
  [[ $(dk "$i" info --format '{{.Driver}}' 2>/dev/null) == "$driver" ]]
}
stop_dockerd() {
  local i="$1" n p=${dockerd_pid[$1]:-}
  if [[ -n "$p" ]]; then
    kill -TERM "$p" 2>/dev/null
    for ((n = 0; n < 40; n++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
    dockerd_pid[$i]=""
  fi
}

drivers=(overlay2)
command -v fuse-overlayfs >/dev/null && drivers+=(fuse-overlayfs)
drivers+=(vfs)
driver="" tried=()
for drv in "${drivers[@]}"; do
  log "starting 3 dockerds (storage driver $drv) under $tmp"
  for h in "${hosts[@]}"; do start_dockerd "$h" "$drv"; done
  ok=1
  for h in "${hosts[@]}"; do wait_dockerd "$h" "$drv" || { ok=0; bad=$h; break; }; done
  if ((ok)); then driver="$drv"; break; fi
  reason=$(grep -E 'level=(error|fatal)|failed to start' "$tmp/h$bad/dockerd.log" | tail -1 | sed -E 's/.*msg="?//; s/"$//' || true)
  tried+=("$drv: h$bad ${reason:-did not come up}")
  for h in "${hosts[@]}"; do cp "$tmp/h$h/dockerd.log" "$tmp/h$h/dockerd-$drv.log" 2>/dev/null || true; stop_dockerd "$h"; done
  umount_under_tmp
  for h in "${hosts[@]}"; do rm -rf "$tmp/h$h/data" "$tmp/h$h/exec"; done
done
[[ -n "$driver" ]] || die "the dockerds did not start with any storage driver (${tried[*]})"
server_version=$(dk 1 version --format '{{.Server.Version}}')
log "dockerd $server_version up on h1..h3 (pids ${dockerd_pid[1]} ${dockerd_pid[2]} ${dockerd_pid[3]}, $driver)"

# --- 4. busybox:latest on every node, without a registry ------------------------
bash "$here/scripts/make-busybox-image.sh" "$tmp/busybox.tar" --docker-save busybox:latest ||
  die "building the busybox docker-save archive failed"
for h in "${hosts[@]}"; do
  dk "$h" load -q -i "$tmp/busybox.tar" >/dev/null || die "docker load of the busybox archive failed on h$h"
done
dk 1 run --rm --network none busybox:latest true ||
  die "a plain 'docker run busybox' fails on h1's dockerd (see the error above)"

# --- 5. swarm -------------------------------------------------------------------------
dk 1 swarm init --advertise-addr "$(addr_of 1)" >/dev/null || die "docker swarm init on h1 failed"
token=$(dk 1 swarm join-token -q worker) || die "docker swarm join-token failed"
for h in 2 3; do
  timeout 120 "$DOCKER" -H "unix://$(sock_of "$h")" swarm join --token "$token" --advertise-addr "$(addr_of "$h")" "$(addr_of 1):2377" >/dev/null ||
    die "h$h could not join the swarm at $(addr_of 1):2377"
done
for ((n = 0; n < 120; n++)); do
  ready=$(dk 1 node ls --format '{{.Status}}' | grep -c '^Ready$' || true)
  ((ready == 3)) && break
  sleep 0.5
done
((ready == 3)) || die "only $ready of 3 swarm nodes are Ready"
log "swarm up: $(dk 1 node ls --format '{{.Hostname}}/{{.Status}}' | tr '\n' ' ')"

if ((hold)); then
  for h in "${hosts[@]}"; do log "h$h: DOCKER_HOST=unix://$(sock_of "$h")  netns $(ns_of "$h")"; done
  touch "$tmp/hold"
  log "holding; rm $tmp/hold (or Ctrl-C) to clean up"
  while [[ -e "$tmp/hold" ]]; do sleep 1; done
  exit 0
fi
