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
#     runs it) bench/reach-probe.sh, the same probe bench/multihost.ts runs:
#     a DNS query for tasks.web over TCP to the container's resolver answers
#     exactly N addresses and an HTTP GET to each of them answers.
#
# Prints one JSON line on stdout, progress on stderr. Everything it creates
# (daemons, containerds, shims, containers, mounts, namespaces, cgroups, the
# files dockerd writes to /etc/docker and /run) is removed on exit, failure or
# Ctrl-C included. --hold stops after the swarm is up until a file it names is
# removed (debugging; the DOCKER_HOST of each node is printed).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'docker-swarm-multihost: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/dockerd-lib.sh
source "$here/bench/dockerd-lib.sh"

runs=3 grace=1s keep_log="" hold=0 n1=30 n2=90
# more_option ARGS…: this script's own options, for peer_options.
more_option() {
  case "$1" in
    --grace) grace="$2"; more_shift=2 ;;
    --hold) hold=1; more_shift=1 ;;
    *) return 1 ;;
  esac
}
peer_options "[--runs R] [--grace DURATION] [--keep-log DIR] [--hold]" "$@"

# --- 1. tools ------------------------------------------------------------------
hosts_preflight

# teardown: the services removed, the hosts down and their logs kept, on exit.
teardown() { hosts_down web client; save_dockerd_logs "$keep_log" ""; }
hosts_session_start dswm teardown

# --- 2. the test network (as test/integration/harness/hosts.ts) ---------------
hosts_net_up

# --- 3. one dockerd per host --------------------------------------------------------
dockerds_up

# --- 4. busybox:latest on every node, without a registry ------------------------
busybox_everywhere "$tmp/busybox.tar"

# --- 5. swarm -------------------------------------------------------------------------
swarm_up

if ((hold)); then
  for h in "${hosts[@]}"; do log "h$h: DOCKER_HOST=unix://$(sock_of "$h")  netns $(ns_of "$h")"; done
  touch "$tmp/hold"
  log "holding; rm $tmp/hold (or Ctrl-C) to clean up"
  while [[ -e "$tmp/hold" ]]; do sleep 1; done
  exit 0
fi

# --- 6. measurements -------------------------------------------------------------------
svc_common=(--no-resolve-image --stop-grace-period "$grace" --network benchnet)
web_args=(--name web "${svc_common[@]}" busybox:latest httpd -f -p 8080 -h /var/www)

# The probe both sides run inside their client: see bench/reach-probe.sh.
probe_sh=$(<"$here/bench/reach-probe.sh")

client_node="" client_cid=""
# find_client → sets client_node (1..3) and client_cid, or fails
find_client() {
  local node
  node=$(dk 1 service ps client --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' 2>/dev/null | awk '$2 == "Running" { print $1; exit }')
  [[ "$node" =~ ^h([123])$ ]] || return 1
  client_node=${BASH_REMATCH[1]}
  client_cid=$(dk "$client_node" ps -q --filter label=com.docker.swarm.service.name=client --filter status=running | head -1)
  [[ -n "$client_cid" ]]
}
probe() { timeout 20 "$DOCKER" -H "unix://$(sock_of "$client_node")" exec "$client_cid" sh -c "$probe_sh" 2>/dev/null || echo "error"; }
# until_reachable T0 N → sets reach_ms: ms from T0 until a probe sees exactly N
# addresses, all answering. (Not run in $(…): bash would hold a TERM for the
# script until the whole loop ended.)
until_reachable() {
  local t0="$1" n="$2" out last=""
  while :; do
    out=$(probe)
    [[ "$out" == "$n $n" ]] && { reach_ms=$(ms_since "$t0"); return 0; }
    [[ "$out" != "$last" ]] && { log "  … $out"; last="$out"; }
    (( $(ms_since "$t0") > 600000 )) && { log "no $n/$n after 10 minutes (last probe: $out)"; return 1; }
    sleep 0.1
  done
}
# running_ms T0 N → ms from T0 to the newest Running timestamp of web's N desired-running tasks
running_ms() {
  local t0="$1" n="$2" ids out
  ids=$(dk 1 service ps web -q --filter desired-state=running)
  # shellcheck disable=SC2086
  out=$(dk 1 inspect --format '{{.Status.State}} {{.Status.Timestamp.UnixNano}}' $ids)
  awk -v t0="$t0" -v n="$n" '$1 == "running" { c++; if ($2 > m) m = $2 } END { if (c == n) printf "%d\n", (m - t0) / 1e6; else print -1 }' <<<"$out"
}
web_containers() { local h; for h in "${hosts[@]}"; do dk "$h" ps -aq --filter label=com.docker.swarm.service.name=web; done; }
wait_gone() { # wait_gone SERVICE → its service object and containers gone on every node
  local svc="$1" i h left
  for ((i = 0; i < 1200; i++)); do
    left=""
    dk 1 service inspect "$svc" >/dev/null 2>&1 && left=service
    for h in "${hosts[@]}"; do left+=$(dk "$h" ps -aq --filter "label=com.docker.swarm.service.name=$svc"); done
    [[ -z "$left" ]] && return 0
    sleep 0.1
  done
  return 1
}

deploy_ms=() scale_ms=() rm_ms=() deploy_run=() scale_run=()
for ((r = 1; r <= runs; r++)); do
  dk 1 network create -d overlay benchnet >/dev/null || die "docker network create -d overlay benchnet failed"
  dk 1 service create -d --name client "${svc_common[@]}" busybox:latest sleep 1000000 >/dev/null ||
    die "docker service create client failed"
  for ((i = 0; i < 600; i++)); do find_client && [[ $(probe) == "0 0" ]] && break; sleep 0.1; done
  [[ $(probe) == "0 0" ]] || die "the client task did not come up (or its DNS probe fails: $(probe))"
  log "run $r/$runs: client on h$client_node"

  # (a) deploy 0→30
  t0=$(now_ns)
  dk 1 service create -d --replicas "$n1" "${web_args[@]}" >/dev/null || die "docker service create web failed"
  until_reachable "$t0" "$n1" || die "web did not become reachable with $n1 tasks"
  deploy_ms+=("$reach_ms") deploy_run+=("$(running_ms "$t0" "$n1")")
  # (b) scale 30→90
  t0=$(now_ns)
  dk 1 service scale -d "web=$n2" >/dev/null || die "docker service scale web=$n2 failed"
  until_reachable "$t0" "$n2" || die "web did not become reachable with $n2 tasks"
  scale_ms+=("$reach_ms") scale_run+=("$(running_ms "$t0" "$n2")")
  # (c) rm of 90
  t0=$(now_ns)
  dk 1 service rm web >/dev/null || die "docker service rm web failed"
  wait_gone web || die "containers of web were still there minutes after docker service rm"
  rm_ms+=("$(ms_since "$t0")")
  log "run $r/$runs: deploy 0→$n1 reachable ${deploy_ms[-1]} ms (last Running ${deploy_run[-1]} ms), scale $n1→$n2 ${scale_ms[-1]} ms (last Running ${scale_run[-1]} ms), rm $n2 ${rm_ms[-1]} ms"

  dk 1 service rm client >/dev/null; wait_gone client || die "the client's container did not go away"
  for ((i = 0; i < 100; i++)); do dk 1 network rm benchnet >/dev/null 2>&1 && break; sleep 0.2; done
  for ((i = 0; i < 100; i++)); do
    left=""; for h in "${hosts[@]}"; do left+=$(dk "$h" network ls -q --filter name=benchnet); done
    [[ -z "$left" ]] && break; sleep 0.2
  done
  [[ -z "$left" ]] || die "network benchnet did not go away"
done

printf '{"peer":"docker-swarm %s (3 dockerd in netns)","deploy30Ms":%d,"scale90Ms":%d,"rm90Ms":%d,"runs":%d,"date":"%s","machine":"%s, %s cores","storageDriver":"%s","stopGracePeriod":"%s","deploy30RunningMs":%d,"scale90RunningMs":%d,"deploy30MsAll":%s,"scale90MsAll":%s,"rm90MsAll":%s}\n' \
  "$server_version" "$(median "${deploy_ms[@]}")" "$(median "${scale_ms[@]}")" "$(median "${rm_ms[@]}")" "$runs" \
  "$(date -u +%F)" "$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed "s/^ *//; s/\"/\\\\\"/g")" "$(nproc)" "$driver" "$grace" "$(median "${deploy_run[@]}")" "$(median "${scale_run[@]}")" \
  "$(list "${deploy_ms[@]}")" "$(list "${scale_ms[@]}")" "$(list "${rm_ms[@]}")"
