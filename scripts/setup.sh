#!/usr/bin/env bash
# Installs the system packages tsswarm needs, only those that are missing.
# Safe to run again: it does nothing when everything is present.
set -euo pipefail

need=()
want() { # want <command-or-path> <debian-package>
  if [[ "$1" == /* ]]; then [[ -e "$1" ]] || need+=("$2")
  else command -v "$1" >/dev/null 2>&1 || need+=("$2"); fi
}
want etcd etcd-server
want etcdctl etcd-client
want ip iproute2
want nft nftables
want /bin/busybox busybox-static
want nsenter util-linux
want setfattr attr
want g++ g++
want make make
want python3 python3

if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "error: missing packages (${need[*]}); run this script as root" >&2
    exit 1
  fi
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
