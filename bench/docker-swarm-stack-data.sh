#!/usr/bin/env bash
# Peer measurement for the stack data benchmark (bench/stack-data.ts): Docker
# Swarm from Debian's docker.io (20.10), the same stack with `docker stack
# deploy`, one dockerd per test host (the hosts of
# bench/docker-swarm-multihost.sh, bench/dockerd-lib.sh), 1 or 3 hosts.
# Run as root:
#
#   bench/docker-swarm-stack-data.sh [--hosts 1|3] [--replicas N] [--runs 3] [--keep-log DIR]
#
# The stack (the text bench/stack-data.ts writes): one service `web`, N
# replicas of `busybox httpd -f -p 8080 -h /var/www` (stop_grace_period 1s),
# each with the named volume `data` at /data (local driver: one per node, so
# on one host all N share it), the secret `token` (file, 32 random hex bytes
# new in each run, at /run/secrets/token) and the config `conf` (file, at
# /etc/bench/conf). --hosts 1 (default): one dockerd, 100 replicas by default;
# --hosts 3: h1 manager, h2 and h3 workers, 30 replicas by default. Per run,
# from the start of `docker stack deploy --resolve-image never -c … bench`:
#   deployMs     until the last of the N tasks reported Running (the newest
#                task Status.Timestamp), what tsswarm's deploy CLI waits for;
#   deployCliMs  wall time of `docker stack deploy` (it does not wait: it
#                returns once the service, secret, config and network exist);
#   secretMs     (3 hosts) until every one of the N tasks could read the
#                secret's bytes from inside: the time of the last task's first
#                good read. The containers are found by the hosts' cgroup
#                parents (<parent>/<container id>, every 20 ms) and read with
#                nsenter into the pid in each cgroup, as bench/stack-data.ts does.
# Then `docker stack rm bench` until its containers, service, secret, config
# and network are gone on every node, and `docker volume rm bench_data` on
# every node: each run starts from nothing.
#
# Prints one JSON line on stdout, progress on stderr. Everything it creates
# (daemons, containerds, shims, containers, mounts, namespaces, cgroups, the
# files dockerd writes to /etc/docker and /run) is removed on exit, failure or
# Ctrl-C included (the exit trap of bench/dockerd-lib.sh's hosts session).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'docker-swarm-stack-data: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/dockerd-lib.sh
source "$here/bench/dockerd-lib.sh"

runs=3 keep_log="" nhosts=1 replicas=""
# more_option ARGS…: this script's own options, for peer_options.
more_option() {
  case "$1" in
    --hosts) nhosts="$2"; more_shift=2 ;;
    --replicas) replicas="$2"; more_shift=2 ;;
    *) return 1 ;;
  esac
}
peer_options "[--hosts 1|3] [--replicas N] [--runs R] [--keep-log DIR]" "$@"
[[ "$nhosts" == 1 || "$nhosts" == 3 ]] || { echo "docker-swarm-stack-data: --hosts takes 1 or 3" >&2; exit 2; }
[[ -z "$replicas" ]] && { ((nhosts == 1)) && replicas=100 || replicas=30; }
[[ "$replicas" =~ ^[1-9][0-9]*$ ]] || { echo "docker-swarm-stack-data: --replicas takes a positive integer" >&2; exit 2; }
probe=0; ((nhosts == 3)) && probe=1

# --- 1. tools ------------------------------------------------------------------
hosts_preflight

# teardown: the service removed, the hosts down and their logs kept, on exit.
teardown() { hosts_down bench_web; save_dockerd_logs "$keep_log" ""; }
hosts_session_start dssd teardown "$nhosts"

# --- 2. the test network, one dockerd per host, busybox on every node ------------
hosts_net_up
dockerds_up
busybox_everywhere "$tmp/busybox.tar"

# --- 3. swarm ---------------------------------------------------------------------
if ((nhosts == 3)); then
  swarm_up
else
  dk 1 swarm init --advertise-addr "$(addr_of 1)" >/dev/null || die "docker swarm init on h1 failed"
  for ((i = 0; i < 120; i++)); do
    [[ $(dk 1 node ls --format '{{.Status}}' 2>/dev/null) == Ready ]] && break
    sleep 0.5
  done
  [[ $(dk 1 node ls --format '{{.Status}}') == Ready ]] || die "the one-node swarm is not Ready"
  log "swarm up: $(dk 1 node ls --format '{{.Hostname}}/{{.Status}}/{{.ManagerStatus}}')"
fi

# --- 4. the stack -------------------------------------------------------------------
stack_dir="$tmp/stack"
mkdir -p "$stack_dir"
# write_stack: the stack file (the text of bench/stack-data.ts), a new secret (sets secret) and the config.
write_stack() {
  secret=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
  printf '%s' "$secret" >"$stack_dir/token.txt"
  printf 'listen 8080\nrun %s\n' "${secret:0:6}" >"$stack_dir/conf.txt"
  cat >"$stack_dir/stack.yml" <<EOF
version: "3.8"
services:
  web:
    image: busybox:latest
    command: httpd -f -p 8080 -h /var/www
    stop_grace_period: 1s
    volumes:
      - data:/data
    secrets:
      - token
    configs:
      - source: conf
        target: /etc/bench/conf
    deploy:
      replicas: $replicas
volumes:
  data:
secrets:
  token:
    file: ./token.txt
configs:
  conf:
    file: ./conf.txt
EOF
}

# The directory of host I's cgroup parent in the pids hierarchy (v1) or the unified tree (v2).
if [[ -e /sys/fs/cgroup/cgroup.controllers ]]; then cg_dir() { echo "/sys/fs/cgroup$(cg_of "$1")"; }
else cg_dir() { echo "/sys/fs/cgroup/pids$(cg_of "$1")"; }; fi

# secret_probe T0 → sets secret_ms and secret_first: every 20 ms, each container
# (a cgroup under a host's cgroup parent) that has not yet answered is read from
# inside (nsenter into the first pid of its cgroup); done when N have answered
# the secret's bytes. Builtins only but for the nsenter and the clock.
secret_probe() {
  local t0="$1" h d c pid got dirs=()
  declare -A read_at=()
  for h in "${hosts[@]}"; do dirs+=("$(cg_dir "$h")"); done
  while ((${#read_at[@]} < replicas)); do
    for d in "${dirs[@]}"; do
      for c in "$d"/*/; do
        [[ -d "$c" && -z "${read_at[$c]:-}" ]] || continue
        pid=""
        { read -r pid <"$c/cgroup.procs"; } 2>/dev/null || true
        [[ -n "$pid" ]] || continue
        got=$(timeout 10 nsenter -t "$pid" -m -u -i -n -p /bin/busybox cat /run/secrets/token 2>/dev/null) || continue
        [[ "$got" == "$secret" ]] && read_at[$c]=$(ms_since "$t0")
      done
    done
    (($(ms_since "$t0") > 600000)) && { log "the secret was readable in ${#read_at[@]} of $replicas tasks after 10 minutes"; return 1; }
    sleep 0.02
  done
  secret_ms=$(printf '%s\n' "${read_at[@]}" | sort -n | tail -1)
  secret_first=$(printf '%s\n' "${read_at[@]}" | sort -n | head -1)
}

# check_one_task: untimed, after a deploy: one task (the first container found)
# has the stack's data: a mount at /data, the config and the secret's bytes.
check_one_task() {
  local h c pid got want
  want=$(cat "$stack_dir/conf.txt" "$stack_dir/token.txt")
  for h in "${hosts[@]}"; do
    for c in "$(cg_dir "$h")"/*/; do
      [[ -d "$c" ]] || continue
      pid=""
      { read -r pid <"$c/cgroup.procs"; } 2>/dev/null || true
      [[ -n "$pid" ]] || continue
      got=$(timeout 10 nsenter -t "$pid" -m -u -i -n -p /bin/busybox sh -c "grep -q ' /data ' /proc/mounts || echo 'no mount at /data'; cat /etc/bench/conf /run/secrets/token" 2>&1) || true
      [[ "$got" == "$want" ]] || die "a task lacks the stack's volume, config or secret: $got"
      return 0
    done
  done
  die "no container of the stack found under the cgroup parents"
}

# running_ms T0 → ms from T0 to the newest Running timestamp of bench_web's N
# desired-running tasks, or -1 while fewer than N of them run.
running_ms() {
  local t0="$1" ids out
  ids=$(dk 1 service ps bench_web -q --filter desired-state=running 2>/dev/null) || { echo -1; return; }
  [[ -n "$ids" ]] || { echo -1; return; }
  # shellcheck disable=SC2086
  out=$(dk 1 inspect --format '{{.Status.State}} {{.Status.Timestamp.UnixNano}}' $ids 2>/dev/null) || { echo -1; return; }
  awk -v t0="$t0" -v n="$replicas" '$1 == "running" { c++; if ($2 > m) m = $2 } END { if (c == n) printf "%d\n", (m - t0) / 1e6; else print -1 }' <<<"$out"
}
# until_running T0 → sets run_ms (running_ms once all N run), polling every 0.2 s; fails after 10 minutes.
until_running() {
  local t0="$1"
  while :; do
    run_ms=$(running_ms "$t0")
    ((run_ms >= 0)) && return 0
    if (($(ms_since "$t0") > 600000)); then
      log "not $replicas/$replicas running after 10 minutes; latest errors:"
      dk 1 service ps bench_web --no-trunc --format '{{.Name}} {{.CurrentState}} {{.Error}}' 2>/dev/null | grep -v ' Running' | head -5 >&2
      return 1
    fi
    sleep 0.2
  done
}

# remove_stack: docker stack rm, until nothing of the stack is left on any node, then its volume on every node.
remove_stack() {
  local i h left
  dk 1 stack rm bench >/dev/null || die "docker stack rm bench failed"
  for ((i = 0; i < 1200; i++)); do
    left=$(dk 1 service ls -q --filter label=com.docker.stack.namespace=bench || echo error)
    left+=$(dk 1 secret ls -q --filter label=com.docker.stack.namespace=bench || echo error)
    left+=$(dk 1 config ls -q --filter label=com.docker.stack.namespace=bench || echo error)
    for h in "${hosts[@]}"; do
      left+=$(dk "$h" ps -aq --filter label=com.docker.stack.namespace=bench || echo error)
      left+=$(dk "$h" network ls -q --filter label=com.docker.stack.namespace=bench || echo error)
    done
    [[ -z "$left" ]] && break
    sleep 0.1
  done
  [[ -z "$left" ]] || die "the stack's objects were still there 2 minutes after docker stack rm"
  for h in "${hosts[@]}"; do
    for ((i = 0; i < 300; i++)); do
      dk "$h" volume inspect bench_data >/dev/null 2>&1 || break
      dk "$h" volume rm bench_data >/dev/null 2>&1 && break
      sleep 0.2
    done
    dk "$h" volume inspect bench_data >/dev/null 2>&1 && die "volume bench_data on h$h could not be removed"
  done
  return 0
}

# --- 5. measurements ---------------------------------------------------------------------
deploy_ms=() deploy_cli=() secret_all=() plural=""
((nhosts > 1)) && plural=s
for ((r = 1; r <= runs; r++)); do
  write_stack
  t0=$(now_ns)
  dk 1 stack deploy --resolve-image never -c "$stack_dir/stack.yml" bench >"$tmp/deploy.out" 2>&1 ||
    { tail -5 "$tmp/deploy.out" >&2; die "docker stack deploy failed or timed out"; }
  cli_ms=$(ms_since "$t0")
  if ((probe)); then secret_probe "$t0" || die "the secret did not reach all $replicas tasks"; fi
  until_running "$t0" || die "the deploy of $replicas did not converge"
  deploy_ms+=("$run_ms") deploy_cli+=("$cli_ms")
  check_one_task
  msg="run $r/$runs ($nhosts host$plural): deploy 0→$replicas: last Running after $run_ms ms (stack deploy returned after $cli_ms ms)"
  if ((probe)); then secret_all+=("$secret_ms"); msg+=", secret readable in all $replicas tasks after $secret_ms ms (first $secret_first ms)"; fi
  log "$msg"
  remove_stack
done

secret_json=""
((probe)) && secret_json=$(printf ',"secretMedianMs":%d,"secretMs":%s' "$(median "${secret_all[@]}")" "$(list "${secret_all[@]}")")
peer_name="docker-swarm $server_version ($nhosts dockerd in netns)"
printf '{"peer":"%s","date":"%s","machine":"%s, %s cores","kernel":"%s","storageDriver":"%s","hosts":%d,"replicas":%d,"runs":%d,"deployMedianMs":%d,"deployCliMedianMs":%d,"deployMs":%s,"deployCliMs":%s%s}\n' \
  "$peer_name" "$(date -u +%F)" "$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed "s/^ *//; s/\"/\\\\\"/g")" "$(nproc)" "$(uname -r)" "$driver" \
  "$nhosts" "$replicas" "$runs" "$(median "${deploy_ms[@]}")" "$(median "${deploy_cli[@]}")" "$(list "${deploy_ms[@]}")" "$(list "${deploy_cli[@]}")" "$secret_json"
