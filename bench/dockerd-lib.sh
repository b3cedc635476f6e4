# Shared by the Docker Swarm peer scripts (bench/docker-swarm-deploy.sh,
# bench/docker-swarm-multihost.sh, bench/docker-swarm-failover.sh,
# bench/docker-swarm-leader-failover.sh, bench/docker-swarm-join.sh), which source
# it after defining log and die: the Debian docker binaries, the machine state
# dockerd touches outside its own roots (recorded before it starts, restored
# after), the removal of what a run leaves under its temp dir, (next section)
# test hosts with one dockerd each (three; two for the join script), for the
# multi-host scripts, and
# (last section) the frame those three scripts share around their
# measurements: options, checks, the session and its exit trap, timing.

# The Debian binaries, by path: /usr/local/bin/docker (if any) may be another CLI.
DOCKERD=/usr/sbin/dockerd DOCKER=/usr/bin/docker

# ensure_docker_io: installs docker.io when missing, without starting the system dockerd.
ensure_docker_io() {
  [[ -x $DOCKERD && -x $DOCKER ]] && return 0
  log "installing docker.io (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  # Without a policy-rc.d, docker.io's postinst would start the *system* dockerd
  # under sysvinit; forbid that for the duration of the install.
  local made_policy="" rc=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d && made_policy=1
  fi
  apt-get install -y -qq --no-install-recommends docker.io >/dev/null || rc=$?
  [[ -n "$made_policy" ]] && rm -f /usr/sbin/policy-rc.d
  ((rc == 0)) || die "apt-get install docker.io failed (exit $rc); run apt-get update?"
}

pre_exist() { [[ -e "$1" ]] && echo 1 || echo ""; }

# libnetwork keeps the files of each overlay network's load-balancer sandbox
# (lb_<network id>) under a fixed /var/lib/docker/network/files, whatever the data root.
netfiles=/var/lib/docker/network/files

# record_host_state: what exists outside the run's own directories before any
# dockerd starts, so that restore_host_state removes only what the run made.
record_host_state() {
  had_etc_docker=$(pre_exist /etc/docker) had_key=$(pre_exist /etc/docker/key.json)
  had_run_docker=$(pre_exist /run/docker) had_run_docker_plugins=$(pre_exist /run/docker/plugins)
  had_run_docker_libnetwork=$(pre_exist /run/docker/libnetwork)
  had_run_containerd=$(pre_exist /run/containerd) had_run_containerd_s=$(pre_exist /run/containerd/s)
  had_xtables_lock=$(pre_exist /run/xtables.lock)
  had_var_lib_docker=$(pre_exist /var/lib/docker) had_var_lib_docker_network=$(pre_exist /var/lib/docker/network)
  had_netfiles=$(pre_exist "$netfiles")
  netfiles_before=$(ls -A "$netfiles" 2>/dev/null || true)
  nft_before=$(nft list tables 2>/dev/null || true)
}

# restore_host_state: removes the files dockerd 20.10 writes outside its roots
# (the trust key, plugin and libnetwork run dirs, containerd's shim socket dir,
# the xtables lock, load-balancer sandbox files) when the run made them, and
# warns when this machine's nft tables changed.
restore_host_state() {
  local m nft_after
  [[ -z "$had_key" ]] && rm -f /etc/docker/key.json
  [[ -z "$had_etc_docker" ]] && rmdir /etc/docker 2>/dev/null
  [[ -z "$had_run_docker_plugins" ]] && rmdir /run/docker/plugins 2>/dev/null
  [[ -z "$had_run_docker_libnetwork" ]] && rm -rf /run/docker/libnetwork 2>/dev/null
  [[ -z "$had_run_docker" ]] && rmdir /run/docker 2>/dev/null
  [[ -z "$had_run_containerd_s" ]] && rmdir /run/containerd/s 2>/dev/null
  [[ -z "$had_run_containerd" ]] && rmdir /run/containerd 2>/dev/null
  [[ -z "$had_xtables_lock" ]] && rm -f /run/xtables.lock  # an empty flock file iptables recreates on demand
  if [[ -d "$netfiles" ]]; then
    for m in $(comm -13 <(echo "$netfiles_before" | sort) <(ls -A "$netfiles" | sort)); do
      [[ "$m" == lb_* ]] && rm -rf "${netfiles:?}/$m"
    done
  fi
  [[ -z "$had_netfiles" ]] && rmdir "$netfiles" 2>/dev/null
  [[ -z "$had_var_lib_docker_network" ]] && rmdir /var/lib/docker/network 2>/dev/null
  [[ -z "$had_var_lib_docker" ]] && rmdir /var/lib/docker 2>/dev/null
  nft_after=$(nft list tables 2>/dev/null || true)
  [[ "$nft_after" != "$nft_before" ]] && log "warning: nft tables of this machine changed: $(diff <(echo "$nft_before") <(echo "$nft_after") | grep '^>' | tr '\n' ' ')"
  return 0
}

# pids_naming DIR: every process (but this shell) whose command line names DIR/.
# One grep over every cmdline (a few ms, not a fork per process: the failover
# script runs this in its timed part); the pattern comes from a file so that
# grep's own command line does not name DIR.
pids_naming() {
  grep -laF -f <(printf '%s/\n' "$1") /proc/[0-9]*/cmdline 2>/dev/null |
    sed -nE 's#^/proc/([0-9]+)/cmdline$#\1#p' | grep -vx "$$"
  return 0
}

# kill_leftovers LISTER: SIGKILL (by PID) what the function LISTER prints, a few
# rounds, until it prints nothing (containerds, shims and containers left behind).
kill_leftovers() {
  local i p
  for ((i = 0; i < 3; i++)); do
    p=$("$1" | sort -u)
    [[ -z "$p" ]] && break
    # shellcheck disable=SC2086
    kill -KILL $p 2>/dev/null
    sleep 0.5
  done
}

# umount_under DIR: everything mounted under DIR, deepest first.
umount_under() {
  local i m p
  for ((i = 0; i < 3; i++)); do
    m=$(findmnt -rn -o TARGET | grep -F "$1" | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2-)
    [[ -z "$m" ]] && break
    while IFS= read -r p; do umount "$p" 2>/dev/null || umount -l "$p" 2>/dev/null; done <<<"$m"
  done
}

# --- three test hosts, one dockerd each ----------------------------------------
# For bench/docker-swarm-multihost.sh, bench/docker-swarm-failover.sh and
# bench/docker-swarm-leader-failover.sh (the one-host script has its own
# start_dockerd and a scalar dockerd_pid, hence the host_ prefixes and nothing
# declared until hosts_init), and with two hosts for bench/docker-swarm-join.sh.
# The caller sets tmp (its own temp dir) and calls hosts_init PREFIX [COUNT]
# (PREFIX unique to the invocation: it names the namespaces and the cgroup
# parents; COUNT hosts, 3 when not given). Host I lives in
# network namespace PREFIX-hI, has 10.213.0.I/24 on a veth to a bridge in
# PREFIX-sw (the layout of test/integration/harness/hosts.ts), and its dockerd
# keeps everything under $tmp/hI.
hosts_init() {
  ns_prefix="$1"
  # shellcheck disable=SC2207
  hosts=($(seq 1 "${2:-3}"))
  declare -gA dockerd_pid=()
  made_ns=()
  driver="" server_version=""
}

sw_ns() { echo "$ns_prefix-sw"; }
ns_of() { echo "$ns_prefix-h$1"; }
addr_of() { echo "10.213.0.$1"; }
cg_of() { echo "/$ns_prefix-h$1"; }           # cgroup parent of host I's containers
sock_of() { echo "$tmp/h$1/docker.sock"; }
# dk I ARGS… → the Debian docker CLI against host I's dockerd
dk() { local i="$1"; shift; DOCKER_HOST="unix://$(sock_of "$i")" "$DOCKER" "$@"; }
dockerd_alive() { [[ -n "${dockerd_pid[$1]:-}" ]] && kill -0 "${dockerd_pid[$1]}" 2>/dev/null && [[ -S $(sock_of "$1") ]]; }

# host_pids I: host I's dockerd, containerd and shims (command line names
# $tmp/hI) and its containers (in its cgroup parent), one PID a line.
host_pids() {
  pids_naming "$tmp/h$1"
  find /sys/fs/cgroup/pids"$(cg_of "$1")" -name cgroup.procs -exec cat {} + 2>/dev/null || true
}
# hosts_pids: the same for every host, and anything else naming $tmp.
hosts_pids() {
  local i
  pids_naming "$tmp"
  for i in "${hosts[@]}"; do host_pids "$i"; done
}

# hosts_net_up: the namespaces, the bridge and the veths; dies on failure.
hosts_net_up() {
  local h ns sw; sw=$(sw_ns)
  ip netns add "$sw" && made_ns+=("$sw") || die "ip netns add $sw failed"
  ip -n "$sw" link add br0 type bridge && ip -n "$sw" link set br0 up || die "bridge in $sw failed"
  for h in "${hosts[@]}"; do
    ns=$(ns_of "$h")
    ip netns add "$ns" && made_ns+=("$ns") || die "ip netns add $ns failed"
    ip -n "$ns" link set lo up &&
      ip -n "$sw" link add "p$h" type veth peer name eth0 netns "$ns" &&
      ip -n "$sw" link set "p$h" master br0 up &&
      ip -n "$ns" addr add "$(addr_of "$h")/24" dev eth0 &&
      ip -n "$ns" link set eth0 up || die "underlay veth for h$h failed"
  done
  h=${hosts[-1]}
  nsenter --net="/run/netns/$(ns_of "$h")" /bin/busybox ping -c1 -W2 "$(addr_of 1)" >/dev/null || die "h$h cannot reach h1 over the test bridge"
}
# set_link I up|down: host I's port on the switch.
set_link() { ip -n "$(sw_ns)" link set "p$1" "$2"; }

# power_cut I: host I's port down, then SIGKILL of all its processes, by PID, until none is left.
power_cut() {
  local round pids p=${dockerd_pid[$1]:-}
  set_link "$1" down || die "could not take h$1's link down"
  # Until none is left, as TestHosts.killHost: a containerd could still be starting a shim between two reads.
  for ((round = 0; round < 50; round++)); do
    pids=$(host_pids "$1" | sort -u)
    [[ -z "$pids" ]] && { dockerd_pid[$1]=""; return 0; }
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    # dockerd is our child: reap it here, or bash reports "Killed" on stderr.
    if [[ -n "$p" ]] && grep -qx "$p" <<<"$pids"; then wait "$p" 2>/dev/null || true; p=""; fi
    sleep 0.1
  done
  die "h$1: processes still alive after SIGKILL: $(host_pids "$1" | sort -u | tr '\n' ' ')"
}

# host_dockerd_start I DRIVER → background dockerd in host I's netns (PID in dockerd_pid[I])
host_dockerd_start() {
  local i="$1" driver="$2" d="$tmp/h$1"
  mkdir -p "$d/data" "$d/exec" "$d/tmp"
  # TMPDIR: when dockerd gives up on its containerd (health checks failing on a
  # loaded machine) it sends it SIGUSR1 before SIGKILL, and containerd writes a
  # stack dump to $TMPDIR/containerd.<pid>.stacks.log; that way under $tmp.
  # Its own config file: the trust key (else /etc/docker/key.json, shared by all
  # three) and nothing read from /etc/docker/daemon.json.
  # dockerd_insecure (set by a script): the registries it may reach over plain HTTP (daemon.json's list).
  printf '{"deprecated-key-path": "%s/key.json"%s}\n' "$d" "${dockerd_insecure:+, \"insecure-registries\": [\"$dockerd_insecure\"]}" >"$d/daemon.json"
  # nsenter and unshare exec (no fork) and so does sh: $! is dockerd's PID.
  # DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1: swarm tasks use the image the node has (loaded by
  # busybox_everywhere) and never pull; a script that measures pulls sets dockerd_pull=1.
  TMPDIR="$d/tmp" DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=$([[ -n "${dockerd_pull:-}" ]] && echo 0 || echo 1) nsenter --net="/run/netns/$(ns_of "$i")" -- unshare --uts -- \
    sh -c 'hostname "$0" && exec "$@"' "h$i" \
    "$DOCKERD" --config-file "$d/daemon.json" --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" \
    -H "unix://$(sock_of "$i")" --storage-driver "$driver" \
    --bridge=none --ip-masq=false --ip-forward=false \
    --cgroup-parent "$(cg_of "$i")" --shutdown-timeout 5 --log-level warn \
    >"$d/dockerd.log" 2>&1 </dev/null &
  dockerd_pid[$i]=$!
}
# host_dockerd_wait I DRIVER → 0 when host I's dockerd answers with that driver
host_dockerd_wait() {
  local i="$1" driver="$2" n p=${dockerd_pid[$1]}
  for ((n = 0; n < 160; n++)); do
    kill -0 "$p" 2>/dev/null || { wait "$p" 2>/dev/null; return 1; }
    [[ -S $(sock_of "$i") ]] && dk "$i" version >/dev/null 2>&1 && break
    sleep 0.25
  done
  [[ $(dk "$i" info --format '{{.Driver}}' 2>/dev/null) == "$driver" ]]
}
host_dockerd_stop() {
  local i="$1" n p=${dockerd_pid[$1]:-}
  if [[ -n "$p" ]]; then
    kill -TERM "$p" 2>/dev/null || true
    for ((n = 0; n < 40; n++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
    dockerd_pid[$i]=""
  fi
}

# dockerds_up [DRIVER…]: one dockerd per host with the first storage driver
# that works for all three (default: overlay2, fuse-overlayfs if installed,
# vfs); sets driver and server_version, dies if none does.
dockerds_up() {
  local drivers=("$@") drv h ok bad reason tried=()
  if ((${#drivers[@]} == 0)); then
    drivers=(overlay2)
    command -v fuse-overlayfs >/dev/null && drivers+=(fuse-overlayfs)
    drivers+=(vfs)
  fi
  driver=""
  for drv in "${drivers[@]}"; do
    log "starting ${#hosts[@]} dockerds (storage driver $drv) under $tmp"
    for h in "${hosts[@]}"; do host_dockerd_start "$h" "$drv"; done
    ok=1
    for h in "${hosts[@]}"; do host_dockerd_wait "$h" "$drv" || { ok=0; bad=$h; break; }; done
    if ((ok)); then driver="$drv"; break; fi
    reason=$(grep -E 'level=(error|fatal)|failed to start' "$tmp/h$bad/dockerd.log" | tail -1 | sed -E 's/.*msg="?//; s/"$//' || true)
    tried+=("$drv: h$bad ${reason:-did not come up}")
    for h in "${hosts[@]}"; do cp "$tmp/h$h/dockerd.log" "$tmp/h$h/dockerd-$drv.log" 2>/dev/null || true; host_dockerd_stop "$h"; done
    umount_under "$tmp"
    for h in "${hosts[@]}"; do rm -rf "$tmp/h$h/data" "$tmp/h$h/exec"; done
  done
  [[ -n "$driver" ]] || die "the dockerds did not start with any storage driver (${tried[*]})"
  server_version=$(dk 1 version --format '{{.Server.Version}}')
  log "dockerd $server_version up on h1..h${hosts[-1]} (pids $(for h in "${hosts[@]}"; do printf '%s ' "${dockerd_pid[$h]}"; done | sed 's/ $//'), $driver)"
}

# busybox_everywhere TAR: busybox:latest on every node, without a registry
# (TAR: scripts/make-busybox-image.sh --docker-save, built here if missing).
busybox_everywhere() {
  local tar="$1" h
  if [[ ! -s "$tar" ]]; then
    bash "$here/scripts/make-busybox-image.sh" "$tar" --docker-save busybox:latest ||
      die "building the busybox docker-save archive failed"
  fi
  for h in "${hosts[@]}"; do
    dk "$h" load -q -i "$tar" >/dev/null || die "docker load of the busybox archive failed on h$h"
  done
  dk 1 run --rm --network none busybox:latest true ||
    die "a plain 'docker run busybox' fails on h1's dockerd (see the error above)"
}

# swarm_up [worker|manager]: swarm init on h1, h2 and h3 join with the token
# of that role (default worker); waits until all three are Ready and, as
# managers, until h1 sees one Leader and two Reachable.
swarm_up() {
  local role="${1:-worker}" h n nodes ok=0 token
  [[ "$role" == worker || "$role" == manager ]] || die "swarm_up: role worker or manager, not $role"
  dk 1 swarm init --advertise-addr "$(addr_of 1)" >/dev/null || die "docker swarm init on h1 failed"
  token=$(dk 1 swarm join-token -q "$role") || die "docker swarm join-token $role failed"
  for h in 2 3; do
    timeout 120 "$DOCKER" -H "unix://$(sock_of "$h")" swarm join --token "$token" --advertise-addr "$(addr_of "$h")" "$(addr_of 1):2377" >/dev/null ||
      die "h$h could not join the swarm at $(addr_of 1):2377 (as $role)"
  done
  for ((n = 0; n < 120; n++)); do
    nodes=$(dk 1 node ls --format '{{.Status}} {{.ManagerStatus}}' 2>/dev/null || true)
    if [[ $(grep -c '^Ready' <<<"$nodes") == 3 ]] &&
      [[ "$role" == worker || $(awk '{ print $2 }' <<<"$nodes" | sort | tr '\n' ' ') == "Leader Reachable Reachable " ]]; then
      ok=1; break
    fi
    sleep 0.5
  done
  ((ok)) || die "swarm not up: $(dk 1 node ls --format '{{.Hostname}}/{{.Status}}/{{.ManagerStatus}}' | tr '\n' ' ')"
  log "swarm up: $(dk 1 node ls --format '{{.Hostname}}/{{.Status}}{{if .ManagerStatus}}/{{.ManagerStatus}}{{end}}' | tr '\n' ' ')"
}

# shim_sockets I: the sockets containerd 1.6 made in /run/containerd/s for
# host I's shims: named sha256(<containerd address>/moby/<container id>), so
# these names are ours alone. A shim removes its socket when it exits, a
# SIGKILLed one does not.
shim_sockets() {
  local c id
  for c in "$tmp/h$1"/data/containers/*/; do
    [[ -d "$c" ]] || continue
    id=$(basename "$c")
    printf '/run/containerd/s/%s\n' "$(printf '%s' "$tmp/h$1/exec/containerd/containerd.sock/moby/$id" | sha256sum | cut -d' ' -f1)"
  done
}

# hosts_down [SERVICE…]: removes the services through the first live dockerd
# (fewer containers for the daemons to stop), leaves the swarm, stops the
# dockerds (SIGTERM, by PID), SIGKILLs whatever of theirs is left
# (containerds, shims, containers), unmounts everything under $tmp, and
# deletes the namespaces (with all dockerd made in them: docker_gwbridge,
# sandboxes, vxlan devices, netfilter rules), the shim sockets of killed shims
# and the cgroup parents. Hosts whose dockerd is already dead (a power cut, or
# a SIGKILL of the dockerd alone that left its containerd, shims and
# containers running) are cleaned the same way. Never fails.
hosts_down() {
  local - i h p m left alive=""
  set +e
  # The first host whose dockerd lives (h1, the manager, unless it was the one
  # killed: with three managers a survivor takes the service rm).
  for h in "${hosts[@]}"; do dockerd_alive "$h" && { alive=$h; break; }; done
  if [[ -n "$alive" ]]; then
    (($#)) && timeout 20 "$DOCKER" -H "unix://$(sock_of "$alive")" service rm "$@" >/dev/null 2>&1
    for ((i = 0; i < 60; i++)); do
      left=""
      for h in "${hosts[@]}"; do
        dockerd_alive "$h" && left+=$(timeout 10 "$DOCKER" -H "unix://$(sock_of "$h")" ps -aq 2>/dev/null)
      done
      [[ -z "$left" ]] && break
      sleep 0.5
    done
  fi
  for h in 3 2 1; do
    dockerd_alive "$h" && timeout 30 "$DOCKER" -H "unix://$(sock_of "$h")" swarm leave --force >/dev/null 2>&1
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
    wait "$p" 2>/dev/null
    dockerd_pid[$h]=""
  done
  # Leftover containerds, shims, container processes: ours only, by PID.
  kill_leftovers hosts_pids
  for h in "${hosts[@]}"; do
    compgen -G "$tmp/h$h/tmp/containerd.*.stacks.log" >/dev/null &&
      log "h$h: its dockerd killed and restarted its containerd during the run (health checks failed; load?)"
  done
  for h in "${hosts[@]}"; do
    left=$(shim_sockets "$h" | while IFS= read -r m; do [[ -S "$m" ]] && rm -f "$m" && echo "$m"; done)
    [[ -n "$left" ]] && log "h$h: removed the $(wc -l <<<"$left") sockets its killed shims left in /run/containerd/s"
  done
  # Mounts under the temp dir (overlays, netns files, the data-root binds), deepest first.
  umount_under "$tmp"
  for m in "${made_ns[@]}"; do ip netns del "$m" 2>/dev/null; done
  made_ns=()
  # Cgroups: children first, in every hierarchy.
  for h in "${hosts[@]}"; do
    for m in /sys/fs/cgroup/*"$(cg_of "$h")"; do
      [[ -d "$m" ]] && find "$m" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
  done
  return 0
}

# --- the frame of the three-host scripts -------------------------------------------
# What bench/docker-swarm-multihost.sh, bench/docker-swarm-failover.sh and
# bench/docker-swarm-leader-failover.sh do alike around their measurements.

# now_ns → nanoseconds since the epoch
now_ns() { date +%s%N; }
# ms_since T0 → whole milliseconds since T0 (now_ns)
ms_since() { echo $(( ($(now_ns) - $1) / 1000000 )); }
# median N… → the median of integers (the mean of the middle two, truncated, for an even count)
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%d\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# list N… → a JSON array of numbers
list() { local IFS=,; echo "[$*]"; }

# peer_options USAGE ARGS…: --runs R (runs), --keep-log DIR (keep_log), -h; others to the script's more_option.
peer_options() {
  local usage="$1"; shift
  # A script's own options: its function more_option ARGS… sets more_shift (the words it took), or fails
  # for one it does not know (→ the usage, exit 2). -h prints the header comment of $0.
  while (($#)); do
    case "$1" in
      --runs) runs="$2"; shift 2 ;;
      --keep-log) keep_log="$2"; shift 2 ;;
      -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0"; exit 0 ;;
      *)
        if declare -F more_option >/dev/null && more_option "$@"; then shift "$more_shift"
        else echo "usage: $0 $usage" >&2; exit 2; fi ;;
    esac
  done
  [[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "$(basename "$0" .sh): --runs takes a positive integer" >&2; exit 2; }
}

# hosts_preflight: root, docker.io, busybox and the tools the hosts need, and no system containerd in the way.
hosts_preflight() {
  local c
  [[ $(id -u) -eq 0 ]] || die "must run as root (dockerd and network namespaces need it)"
  ensure_docker_io
  [[ -x /bin/busybox ]] || die "/bin/busybox missing; run scripts/setup.sh (busybox-static)"
  for c in ip findmnt nsenter unshare iptables sha256sum timeout; do
    command -v "$c" >/dev/null || die "$c not found (iproute2/util-linux/iptables/coreutils)"
  done
  if [[ -e /run/containerd/containerd.sock ]]; then
    die "/run/containerd/containerd.sock exists: dockerd would use that system containerd instead of one per host"
  fi
}

# host_links → this machine's network interfaces, sorted
host_links() { ip -o link show | awk -F': ' '{ print $2 }' | sort; }

# hosts_session_start NAME TEARDOWN [COUNT]: machine state recorded, tmp and the COUNT (default 3) hosts named, TEARDOWN run on every exit.
hosts_session_start() {
  # TEARDOWN: the script's function that calls hosts_down; hosts_on_exit then runs hosts_session_end.
  record_host_state
  had_run_netns=$(pre_exist /run/netns)
  links_before=$(host_links)
  tmp=$(mktemp -d "/tmp/$1.XXXXXX")
  hosts_init "$1-${tmp##*.}" "${3:-3}"
  export DOCKER_CONFIG="$tmp/cli"
  hosts_teardown="$2"
  trap hosts_on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# hosts_on_exit: the EXIT trap of hosts_session_start (failure and Ctrl-C included); keeps the exit status.
hosts_on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  "$hosts_teardown"
  hosts_session_end
  exit "$rc"
}

# hosts_session_end: once the hosts are down, undoes the rest (/run/netns, restore_host_state, $tmp) and warns of leftovers.
hosts_session_end() {
  local links_after left
  if [[ -z "$had_run_netns" && -d /run/netns && -z $(ls -A /run/netns 2>/dev/null) ]]; then
    umount /run/netns 2>/dev/null; rmdir /run/netns 2>/dev/null
  fi
  links_after=$(host_links)
  [[ "$links_after" != "$links_before" ]] && log "warning: links of this machine changed: $(comm -13 <(echo "$links_before") <(echo "$links_after") | tr '\n' ' ')"
  restore_host_state
  if findmnt -rn -o TARGET | grep -qF "$tmp"; then
    log "warning: mounts under $tmp survived; leaving $tmp in place"
  else
    rm -rf "$tmp"
  fi
  left=$(hosts_pids | sort -u | tr '\n' ' ')
  [[ -n "$left" ]] && log "warning: processes still alive: $left"
  return 0
}

# hosts_clear: after hosts_down between runs, dies if mounts or processes of the hosts survived, else removes their directories.
hosts_clear() {
  local h left
  findmnt -rn -o TARGET | grep -qF "$tmp/" && die "mounts under $tmp survived the teardown"
  left=$(hosts_pids | sort -u | tr '\n' ' ')
  [[ -z "$left" ]] || die "processes still alive after the teardown: $left"
  for h in "${hosts[@]}"; do rm -rf "${tmp:?}/h$h"; done
}

# save_dockerd_logs DIR PREFIX: each host's dockerd log to DIR/PREFIXdockerd-hI.log (--keep-log; nothing when DIR is empty).
save_dockerd_logs() {
  local h
  [[ -n "$1" ]] || return 0
  mkdir -p "$1" || return 0
  for h in "${hosts[@]}"; do cp "$tmp/h$h/dockerd.log" "$1/$2dockerd-h$h.log" 2>/dev/null || true; done
}
