#!/usr/bin/env bash
# Peer measurement for the service lifecycle benchmark (logs, exec, unhealthy tasks): Docker Swarm
# from Debian's docker.io (20.10), one dockerd per test host (bench/dockerd-lib.sh), h1 manager,
# h2 and h3 workers, one swarm for all runs. Per run:
#   logsMs       service chat, 30 busybox replicas that each print `line 1`…`line 10000` and then
#                idle; once all 30 run and every task's log holds its 10,000 lines (the last line
#                of each is `line 10000`), the wall time of `docker service logs chat` (from h1, no
#                follow) until it exits; logsLines is the number of lines it printed (stdout and
#                stderr together; 300000 expected, a warning when not). Docker 20.10's command
#                does not exit here (see measure_logs): logsHung counts the runs in which it
#                stopped printing and did not exit within 10 s; for those, logsMs is the time
#                until its last output.
#   execMs       service sh1, one idle replica pinned to h2; 20 × the wall time of
#                `docker exec <its container> true`. `docker exec` only works against the dockerd
#                of the node that runs the container (the manager has no exec of tasks), so the
#                client talks to h2's dockerd directly: that is not what `tsswarm service exec`
#                does (ask the manager, which forwards to the node), but it is the only exec
#                Docker Swarm has. Each sample is one exec; execMs is the median of all samples of
#                all runs.
#   unhealthyMs  service hw, 2 busybox httpd replicas on the overlay network hnet answering their
#                hostname, health check `test -f /tmp/ok` (interval 1s, timeout 1s, 1 retry), and
#                service probe on hnet fetching http://hw/ (the VIP; DNS round robin over the
#                task addresses on a kernel without IPVS, endpointMode) every 20 ms and printing
#                the answer. T0: just before `docker exec <victim> rm /tmp/ok` on the victim's node;
#                once Docker has replaced the unhealthy task (2 healthy tasks run, the victim's not
#                among them) and 3 s more have passed, the time of the probe's last answer from
#                the victim (its log line's timestamp, `docker service logs -t`) minus T0; 0 when
#                the last answer came before T0.
# Run as root: bench/docker-swarm-service-lifecycle.sh [--runs 3] [--keep-log DIR]
# Prints one JSON line on stdout, progress on stderr; everything it creates is removed on exit
# (bench/dockerd-lib.sh's hosts session).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
log() { printf 'docker-swarm-service-lifecycle: %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/dockerd-lib.sh
source "$here/bench/dockerd-lib.sh"

runs=3 keep_log=""
more_option() { return 1; }
peer_options "[--runs R] [--keep-log DIR]" "$@"

hosts_preflight
teardown() { [[ -n "${logs_pid:-}" ]] && kill "$logs_pid" 2>/dev/null; hosts_down chat sh1 hw probe; save_dockerd_logs "$keep_log" ""; }
hosts_session_start dssl teardown
hosts_net_up
dockerds_up
busybox_everywhere "$tmp/busybox.tar"
swarm_up

idle='trap '"'"'exit 0'"'"' TERM; while true; do sleep 0.2; done'
chat_replicas=30 chat_lines=10000 exec_samples=20

# Each host's node: host_of[<node id>] = I, name_of[I] = its node hostname.
declare -A host_of=() name_of=()
for h in "${hosts[@]}"; do
  id=$(dk "$h" info --format '{{.Swarm.NodeID}}') && [[ -n "$id" ]] || die "h$h has no swarm node id"
  host_of[$id]=$h
  name_of[$h]=$(dk "$h" info --format '{{.Name}}')
done

# running SERVICE → how many of its desired-running tasks are Running
running() { dk 1 service ps "$1" --filter desired-state=running --format '{{.CurrentState}}' 2>/dev/null | grep -c '^Running' || true; }
# wait_running SERVICE N → 0 once N of its tasks run (2 minutes at most)
wait_running() {
  local i
  for ((i = 0; i < 1200; i++)); do
    [[ $(running "$1") == "$2" ]] && return 0
    sleep 0.1
  done
  return 1
}
# wait_gone SERVICE → its service object and containers gone on every node (2 minutes at most)
wait_gone() {
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
# remove SERVICE… → removed, their containers gone everywhere; dies otherwise
remove() {
  local s
  dk 1 service rm "$@" >/dev/null || die "docker service rm $* failed"
  for s in "$@"; do wait_gone "$s" || die "the containers of $s were still there 2 minutes after docker service rm"; done
}
# healthy_tasks SERVICE → sets healthy (one line per task that runs with a healthy container:
# TASK HOST CONTAINER) and nhealthy (their number). Not run in $(…), so that die ends the script.
healthy_tasks() {
  local t out state node cid h
  healthy="" nhealthy=0
  for t in $(dk 1 service ps "$1" -q --no-trunc --filter desired-state=running 2>/dev/null || true); do
    out=$(dk 1 inspect --format '{{.Status.State}} {{.NodeID}} {{with .Status.ContainerStatus}}{{.ContainerID}}{{end}}' "$t" 2>/dev/null || true)
    read -r state node cid <<<"$out"
    [[ "$state" == running && -n "$cid" ]] || continue
    h=${host_of[$node]:-}
    [[ -n "$h" ]] || die "task $t of $1 is on node $node, which is none of h1..h${hosts[-1]}"
    [[ $(dk "$h" inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$cid" 2>/dev/null || true) == healthy ]] || continue
    healthy+="$t $h $cid"$'\n' nhealthy=$((nhealthy + 1))
  done
}

# --- 1. logs: 30 × 10,000 lines through the manager -----------------------------------------------
# until_logged → 0 once 30 tasks run and the last log line of each is `line 10000` (5 minutes at most)
until_logged() {
  local t0 tails last=""
  t0=$(now_ns)
  while :; do
    if [[ $(running chat) == "$chat_replicas" ]]; then
      tails=$(timeout 60 "$DOCKER" -H "unix://$(sock_of 1)" service logs --raw --tail 1 chat 2>/dev/null || true)
      [[ $(grep -c . <<<"$tails") == "$chat_replicas" && $(grep -cx "line $chat_lines" <<<"$tails") == "$chat_replicas" ]] && return 0
      last="$(grep -cx "line $chat_lines" <<<"$tails" || true) of $(grep -c . <<<"$tails" || true) tasks at line $chat_lines"
    else
      last="$(running chat) of $chat_replicas running"
    fi
    (( $(ms_since "$t0") > 300000 )) && { log "chat: not all logs complete after 5 minutes ($last)"; return 1; }
    sleep 1
  done
}
# Docker 20.10's `service logs` (no follow) of a service with two or more tasks on one node does not
# end: here it printed 230,000-270,000 of the 300,000 lines, then nothing, still running 2.5 hours
# later (every time; 3 tasks on 3 nodes end, 2 tasks on one node do not). The likely cause, from the
# 20.10 source: the node's agent runs one goroutine per task that all Send on the subscription's
# single gRPC stream (swarmkit agent/worker.go Subscribe, agent/agent.go Publisher), which gRPC does
# not allow, so messages and the final Close are lost. So the command runs in the background and a
# run in which its output stops growing for logs_quiet_s while it still runs is counted as hung: the
# client is stopped, and logsMs is the time until its last output instead of until it exited.
logs_quiet_s=10 logs_pid=""
measure_logs() {
  local t0 n out="$tmp/chat-logs" sub size last=-1 t_last now rc t_end hung=0
  dk 1 service create -d --name chat --replicas "$chat_replicas" --no-resolve-image --stop-grace-period 1s \
    busybox:latest sh -c "seq 1 $chat_lines | sed 's/^/line /'; $idle" >/dev/null || die "docker service create chat failed"
  until_logged || die "the 30 chat tasks did not all run with their 10,000 lines logged"
  rm -f "$out" "$out.pid" "$out.done"
  t0=$(now_ns)
  (
    DOCKER_HOST="unix://$(sock_of 1)" "$DOCKER" service logs chat >"$out" 2>&1 &
    echo $! >"$out.pid"
    rc=0; wait $! || rc=$?
    echo "$rc $(now_ns)" >"$out.done"
  ) &
  sub=$! t_last=$t0
  while [[ ! -s "$out.done" ]]; do
    now=$(now_ns)
    size=$(stat -c %s "$out" 2>/dev/null || echo 0)
    if ((size != last)); then
      last=$size t_last=$now
    elif ((now - t_last > logs_quiet_s * 1000000000)) && [[ -s "$out.pid" ]]; then
      hung=1 logs_pid=$(<"$out.pid")
      kill "$logs_pid" 2>/dev/null || true
      break
    fi
    ((now - t0 < 600000000000)) || die "docker service logs chat still printing after 10 minutes"
    sleep 0.02
  done
  wait "$sub" || true
  logs_pid=""
  read -r rc t_end <"$out.done" || die "lost the exit status of docker service logs chat"
  n=$(wc -l <"$out")
  if ((hung)); then
    logs_ms+=("$(( (t_last - t0) / 1000000 ))") logs_hung=$((logs_hung + 1))
    log "warning: docker service logs chat stopped printing after ${logs_ms[-1]} ms ($n lines) and did not exit in ${logs_quiet_s} s more; stopped it"
  else
    ((rc == 0)) || die "docker service logs chat exited with $rc: $(tail -3 "$out" | tr '\n' ' ')"
    logs_ms+=("$(( (t_end - t0) / 1000000 ))")
  fi
  logs_lines+=("$n")
  ((n == chat_replicas * chat_lines)) || log "warning: docker service logs chat printed $n lines, not $((chat_replicas * chat_lines))"
  rm -f "$out" "$out.pid" "$out.done"
  remove chat
}

# --- 2. exec: 20 × docker exec true on h2 -------------------------------------------------------------
measure_exec() {
  local cid i t0 ms=()
  dk 1 service create -d --name sh1 --replicas 1 --constraint "node.hostname==${name_of[2]}" --no-resolve-image \
    --stop-grace-period 1s busybox:latest sh -c "$idle" >/dev/null || die "docker service create sh1 failed"
  wait_running sh1 1 || die "sh1 did not run on h2 within 2 minutes"
  cid=$(dk 2 ps -q --filter label=com.docker.swarm.service.name=sh1)
  [[ "$cid" =~ ^[0-9a-f]+$ ]] || die "expected one container of sh1 on h2, found: ${cid:-none}"
  for ((i = 0; i < exec_samples; i++)); do
    t0=$(now_ns)
    dk 2 exec "$cid" true || die "docker exec $cid true failed on h2"
    ms+=("$(ms_since "$t0")")
  done
  exec_ms+=("${ms[@]}") exec_run+=("$(median "${ms[@]}")")
  remove sh1
}

# --- 3. an unhealthy task out of the VIP ----------------------------------------------------------------
# Swarm's VIP is IPVS in each container's namespace; on a kernel without it (CONFIG_IP_VS unset, as
# on the machine these benchmarks run on) the VIP answers nothing, and hw uses --endpoint-mode dnsrr
# instead: `hw` resolves to the task addresses themselves. Both are the same service binding in
# libnetwork, taken away by the same step when a task stops (deactivateServiceBinding), so the
# moment measured is the same; the JSON says which (endpointMode).
endpoint_mode=dnsrr
if [[ -d /proc/sys/net/ipv4/vs ]] || grep -qs '/ip_vs\.ko' "/lib/modules/$(uname -r)/modules.dep" "/lib/modules/$(uname -r)/modules.builtin"; then
  endpoint_mode=vip
fi
measure_unhealthy() {
  local i tasks victim vh vcid vtask hn=() probe_log hit hit_ns t0 state fails left h cid
  dk 1 network create -d overlay --attachable hnet >/dev/null || die "docker network create -d overlay hnet failed"
  dk 1 service create -d --name hw --replicas 2 --network hnet --endpoint-mode "$endpoint_mode" --no-resolve-image --stop-grace-period 1s \
    --health-cmd "test -f /tmp/ok" --health-interval 1s --health-timeout 1s --health-retries 1 --health-start-period 0s \
    busybox:latest sh -c 'touch /tmp/ok; mkdir -p /www; hostname > /www/index.html; exec httpd -f -p 80 -h /www' >/dev/null ||
    die "docker service create hw failed"
  # busybox wget -T segfaults; timeout bounds a request to a backend that is gone.
  dk 1 service create -d --name probe --replicas 1 --network hnet --no-resolve-image --stop-grace-period 1s \
    busybox:latest sh -c 'while true; do r=$(timeout 1 wget -qO- http://hw/ 2>/dev/null || echo fail); echo "$r"; usleep 20000; done' >/dev/null ||
    die "docker service create probe failed"
  for ((i = 0; i < 1200; i++)); do
    healthy_tasks hw
    ((nhealthy == 2)) && break
    sleep 0.1
  done
  ((nhealthy == 2)) || die "hw: not 2 healthy tasks within 2 minutes (${healthy:-none})"
  tasks=${healthy%$'\n'}
  wait_running probe 1 || die "the probe did not run within 2 minutes"
  while read -r _ h cid; do
    hn+=("$(dk "$h" inspect --format '{{.Config.Hostname}}' "$cid")") || die "docker inspect $cid failed on h$h"
  done <<<"$tasks"
  for ((i = 0; i < 600; i++)); do
    probe_log=$(dk 1 service logs --raw --tail 200 probe 2>/dev/null || true)
    grep -qx "${hn[0]}" <<<"$probe_log" && grep -qx "${hn[1]}" <<<"$probe_log" && break
    sleep 0.2
  done
  grep -qx "${hn[0]}" <<<"$probe_log" && grep -qx "${hn[1]}" <<<"$probe_log" ||
    die "the probe did not hear from both hw containers (${hn[*]}) within 2 minutes; last: $(tail -3 <<<"$probe_log" | tr '\n' ' ')"
  read -r vtask victim vcid <<<"$(head -1 <<<"$tasks")"
  vh=${hn[0]}
  log "  hw on h$(awk '{ print $2 }' <<<"$tasks" | paste -sd/ | sed 's#/# and h#'), healthy, both answer the probe; victim $vh on h$victim"

  t0=$(now_ns)
  dk "$victim" exec "$vcid" rm /tmp/ok || die "docker exec $vcid rm /tmp/ok failed on h$victim"
  for ((i = 0; i < 1200; i++)); do
    state=$(dk 1 inspect --format '{{.Status.State}}' "$vtask" 2>/dev/null || echo gone)
    healthy_tasks hw
    [[ "$state" != running ]] && ((nhealthy == 2)) && [[ "$healthy" != *"$vtask "* ]] && break
    sleep 0.1
  done
  [[ "$state" != running ]] && ((nhealthy == 2)) && [[ "$healthy" != *"$vtask "* ]] ||
    die "hw: the unhealthy task was not replaced within 2 minutes (victim's task $state; healthy: ${healthy:-none})"
  log "  victim's task $state ($(dk 1 inspect --format '{{.Status.Err}}' "$vtask" 2>/dev/null || true)); replaced, 2 healthy after $(ms_since "$t0") ms"
  sleep 3

  probe_log=$(dk 1 service logs -t --raw probe) || die "docker service logs -t probe failed"
  hit=$(awk -v h="$vh" 'NF == 2 && $2 == h { t = $1 } END { print t }' <<<"$probe_log")
  [[ -n "$hit" ]] || die "no answer from $vh in the probe's log"
  hit_ns=$(date -d "$hit" +%s%N) || die "cannot read the log timestamp $hit"
  fails=$(awk 'NF == 2 && $2 == "fail" { print $1 }' <<<"$probe_log" | date -f - +%s%N | awk -v t0="$t0" '$1 > t0' | wc -l) ||
    die "cannot read the probe's log timestamps"
  unhealthy_ms+=("$(( hit_ns > t0 ? (hit_ns - t0) / 1000000 : 0 ))")
  log "  last answer from $vh ${unhealthy_ms[-1]} ms after T0 ($hit); $fails failed requests after T0"
  remove hw probe
  for ((i = 0; i < 100; i++)); do dk 1 network rm hnet >/dev/null 2>&1 && break; sleep 0.2; done
  for ((i = 0; i < 100; i++)); do
    left=""; for h in "${hosts[@]}"; do left+=$(dk "$h" network ls -q --filter name=hnet); done
    [[ -z "$left" ]] && break; sleep 0.2
  done
  [[ -z "$left" ]] || die "network hnet did not go away"
}

logs_ms=() logs_lines=() logs_hung=0 exec_ms=() exec_run=() unhealthy_ms=()
for ((r = 1; r <= runs; r++)); do
  log "run $r/$runs: logs"
  measure_logs
  log "run $r/$runs: exec"
  measure_exec
  log "run $r/$runs: unhealthy (endpoint mode $endpoint_mode)"
  measure_unhealthy
  log "run $r/$runs: logs ${logs_ms[-1]} ms (${logs_lines[-1]} lines), exec median ${exec_run[-1]} ms, unhealthy task out of hw (${endpoint_mode}) ${unhealthy_ms[-1]} ms"
done

printf '{"peer":"docker-swarm %s (3 dockerd in netns)","logsMs":%d,"logsLines":%d,"logsHung":%d,"execMs":%d,"unhealthyMs":%d,"endpointMode":"%s","runs":%d,"date":"%s","machine":"%s, %s cores","logsMsAll":%s,"execMsAll":%s,"unhealthyMsAll":%s}\n' \
  "$server_version" "$(median "${logs_ms[@]}")" "$(median "${logs_lines[@]}")" "$logs_hung" "$(median "${exec_ms[@]}")" "$(median "${unhealthy_ms[@]}")" "$endpoint_mode" "$runs" \
  "$(date -u +%F)" "$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed "s/^ *//; s/\"/\\\\\"/g")" "$(nproc)" \
  "$(list "${logs_ms[@]}")" "$(list "${exec_ms[@]}")" "$(list "${unhealthy_ms[@]}")"
