# Shared by the Docker Swarm peer scripts (bench/docker-swarm-deploy.sh and
# bench/docker-swarm-multihost.sh), which source it after defining log and die:
# the Debian docker binaries, the machine state dockerd touches outside its own
# roots (recorded before it starts, restored after), and the removal of what a
# run leaves under its temp dir.

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
pids_naming() {
  local p
  for p in /proc/[0-9]*; do
    [[ ${p#/proc/} == "$$" ]] && continue
    { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF "$1/" && echo "${p#/proc/}"
  done
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
