#!/usr/bin/env bash
# Peer measurement for the encrypted overlay benchmark (bench/encrypted-overlay.ts): iperf3 between
# two containers of Docker Swarm from Debian's docker.io (20.10), one dockerd per test host, 2 hosts
# on this machine (the hosts of bench/docker-swarm-multihost.sh, bench/dockerd-lib.sh, with two of
# them), over an overlay network made with `docker network create -d overlay --opt encrypted`
# (IPsec ESP through the kernel's xfrm) and over a plain one. Run as root:
#
#   bench/docker-swarm-encrypted-overlay.sh [--runs 3] [--seconds 5] [--keep-log DIR]
#
# Once: namespaces h1, h2 and a switch namespace with a bridge (underlay 10.213.0.1-2/24), a dockerd
# in each, `docker swarm init` on h1, h2 joins; networks benchplain and benchenc (--opt encrypted);
# on each network a service srv pinned to h2 and a service cli pinned to h1 (busybox sleep). Then
# per run, alternating plain and encrypted: an iperf3 server (this machine's iperf3, in the srv
# container's network namespace) and a TCP test of --seconds from the cli container's namespace to
# srv's address on that network; Mbit/s received. A network whose containers cannot reach each
# other (an encrypted network on a kernel without ESP: libnetwork's xfrm states are refused) gets
# null and the reason, with the line dockerd logged about it.
#
# Prints one JSON line on stdout, progress on stderr. Everything it creates (daemons, containerds,
# mounts, namespaces, cgroups, iperf3 processes, the files dockerd writes to /etc/docker and /run)
# is removed on exit, failure or Ctrl-C included.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'docker-swarm-encrypted-overlay: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/dockerd-lib.sh
source "$here/bench/dockerd-lib.sh"

runs=3 keep_log="" seconds=5
more_option() {
  case "$1" in
    --seconds) seconds="$2"; more_shift=2 ;;
    *) return 1 ;;
  esac
}
peer_options "[--runs R] [--seconds S] [--keep-log DIR]" "$@"
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || die "--seconds takes a positive integer"
command -v iperf3 >/dev/null || die "iperf3 missing; run scripts/setup.sh --bench"
hosts_preflight

iperf_pids=()
# teardown: iperf3 servers (by PID), the services removed, the hosts down, their logs kept, on exit.
teardown() {
  local p
  for p in "${iperf_pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  hosts_down srv-plain cli-plain srv-enc cli-enc
  save_dockerd_logs "$keep_log" ""
}
hosts_session_start dsenc teardown 2

hosts_net_up
dockerds_up
busybox_everywhere "$tmp/busybox.tar"

dk 1 swarm init --advertise-addr "$(addr_of 1)" >/dev/null || die "docker swarm init on h1 failed"
token=$(dk 1 swarm join-token -q worker) || die "docker swarm join-token failed"
timeout 120 "$DOCKER" -H "unix://$(sock_of 2)" swarm join --token "$token" --advertise-addr "$(addr_of 2)" "$(addr_of 1):2377" >/dev/null ||
  die "h2 could not join the swarm"
for ((n = 0; n < 120; n++)); do
  [[ $(dk 1 node ls --format '{{.Status}}' 2>/dev/null | grep -c '^Ready') == 2 ]] && break
  sleep 0.5
done
[[ $(dk 1 node ls --format '{{.Status}}' | grep -c '^Ready') == 2 ]] || die "h2 did not become Ready"
log "swarm up: $(dk 1 node ls --format '{{.Hostname}}/{{.Status}}' | tr '\n' ' ')"

dk 1 network create -d overlay benchplain >/dev/null || die "docker network create benchplain failed"
dk 1 network create -d overlay --opt encrypted benchenc >/dev/null || die "docker network create --opt encrypted benchenc failed"
for net in plain enc; do
  for pair in "srv h2" "cli h1"; do
    read -r svc node <<<"$pair"
    dk 1 service create -d --no-resolve-image --stop-grace-period 1s --name "$svc-$net" --network "bench$net" \
      --constraint "node.hostname==$node" busybox:latest sleep 1000000 >/dev/null || die "docker service create $svc-$net failed"
  done
done

# pid_of I SERVICE → the host PID of that service's running container on host I
pid_of() {
  local cid
  cid=$(dk "$1" ps -q --filter "label=com.docker.swarm.service.name=$2" --filter status=running | head -1)
  [[ -n "$cid" ]] && dk "$1" inspect -f '{{.State.Pid}}' "$cid"
}
# ip_of I SERVICE NETWORK → that container's address on the network
ip_of() {
  local cid
  cid=$(dk "$1" ps -q --filter "label=com.docker.swarm.service.name=$2" --filter status=running | head -1)
  dk "$1" inspect -f "{{(index .NetworkSettings.Networks \"$3\").IPAddress}}" "$cid"
}
declare -A srv_pid cli_pid srv_ip reach
for net in plain enc; do
  for ((n = 0; n < 240; n++)); do
    srv_pid[$net]=$(pid_of 2 "srv-$net" || true) cli_pid[$net]=$(pid_of 1 "cli-$net" || true)
    [[ -n "${srv_pid[$net]}" && -n "${cli_pid[$net]}" ]] && break
    sleep 0.5
  done
  [[ -n "${srv_pid[$net]}" && -n "${cli_pid[$net]}" ]] || die "the containers on bench$net did not start"
  srv_ip[$net]=$(ip_of 2 "srv-$net" "bench$net")
  # Reachable at all? Overlay peers take a moment to be programmed: a few tries.
  reach[$net]=""
  for ((n = 0; n < 15; n++)); do
    if nsenter --net="/proc/${cli_pid[$net]}/ns/net" /bin/busybox ping -c1 -W1 "${srv_ip[$net]}" >/dev/null 2>&1; then reach[$net]=1; break; fi
  done
  log "bench$net: cli (h1) → srv ${srv_ip[$net]} (h2): $([[ -n "${reach[$net]}" ]] && echo reachable || echo UNREACHABLE)"
done
[[ -n "${reach[plain]}" ]] || die "the plain overlay does not work between the two hosts"
enc_error="null"
if [[ -z "${reach[enc]}" ]]; then
  # libnetwork's own words: "Failed Adding rSA{...}: <the kernel's error>", shortened to the error.
  why=$(grep -hiE 'Failed (Adding|adding|to program)|encryption' "$tmp"/h*/dockerd.log | tail -1 | sed -E 's/.*msg="?//; s/"$//; s/^(Failed [A-Za-z]+ [A-Za-z]+)\{.*\}: /\1: /; s/\\"/'"'"'/g; s/"/'"'"'/g' | cut -c1-160 || true)
  enc_error="\"containers on the encrypted network cannot reach each other${why:+: dockerd: $why}\""
  log "encrypted overlay unusable: ${why:-no dockerd message}"
fi

# iperf NET → Mbit/s of one TCP test over that network (empty on failure)
iperf() {
  local net="$1" sp out
  nsenter --net="/proc/${srv_pid[$net]}/ns/net" iperf3 -s -1 -p 9001 >/dev/null 2>&1 &
  sp=$!
  iperf_pids+=("$sp")
  sleep 0.3
  out=$(timeout $((seconds + 20)) nsenter --net="/proc/${cli_pid[$net]}/ns/net" iperf3 -c "${srv_ip[$net]}" -p 9001 -t "$seconds" -J 2>/dev/null || true)
  kill -KILL "$sp" 2>/dev/null || true
  wait "$sp" 2>/dev/null || true
  node -e 'const o = JSON.parse(require("fs").readFileSync(0, "utf8") || "{}"); const b = o.end?.sum_received?.bits_per_second; if (b) console.log(Math.round(b / 1e6));' <<<"$out" 2>/dev/null || true
}

plain=() enc=()
for ((r = 1; r <= runs; r++)); do
  v=$(iperf plain); [[ -n "$v" ]] || die "iperf3 over the plain overlay failed"
  plain+=("$v")
  if [[ -n "${reach[enc]}" ]]; then
    v=$(iperf enc); [[ -n "$v" ]] || die "iperf3 over the encrypted overlay failed"
    enc+=("$v")
  fi
  log "run $r/$runs: plain ${plain[-1]} Mbit/s, encrypted $( ((${#enc[@]})) && echo "${enc[-1]} Mbit/s" || echo n/a)"
done

printf '{"peer":"docker-swarm %s (2 dockerd in netns)","date":"%s","machine":"%s, %s cores, Linux %s","seconds":%d,"runs":%d,"plainMbps":%d,"encryptedMbps":%s,"encryptedError":%s,"plainAll":%s,"encryptedAll":%s}\n' \
  "$server_version" "$(date -u +%F)" "$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed "s/^ *//; s/\"/\\\\\"/g")" "$(nproc)" "$(uname -r)" "$seconds" "$runs" \
  "$(median "${plain[@]}")" "$( ((${#enc[@]})) && median "${enc[@]}" || echo null)" "$enc_error" "$(list "${plain[@]}")" "$(list "${enc[@]}")"
