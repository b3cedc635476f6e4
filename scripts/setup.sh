#!/usr/bin/env bash
# Installs the system packages tsswarm needs, only those that are missing.
# Safe to run again: it does nothing when everything is present.
set -euo pipefail

# --bench: also what the benchmarks need (bench/README.md).
bench=0
for arg in "$@"; do [[ "$arg" == --bench ]] && bench=1; done

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
want /usr/include/seccomp.h libseccomp-dev        # the runtime's seccomp filters (native/src/seccomp.cc)
want /usr/include/nlohmann/json.hpp nlohmann-json3-dev   # the runtime reads the OCI config.json (native/src/oci-config.cc)
want python3 python3
want wget wget                # tests reach published ports from the test hosts
want dig bind9-dnsutils   # cross-checks the agent's DNS server in test/integration/dns.test.ts
want /usr/include/openssl/evp.h libssl-dev   # tsswarm-esp, the ESP of encrypted networks (native/src/esp-main.cc)
want tcpdump tcpdump      # the encrypted-overlay tests capture the underlay
want zstd zstd            # zstd-compressed image layers (agent/image/unpack.ts)
want /usr/bin/docker-registry docker-registry   # the real registry the image tests pull from and push to
want skopeo skopeo        # an independent registry client in the image tests
want htpasswd apache2-utils   # bcrypt htpasswd files for the registry the image tests log in to
want openssl openssl      # certificates for that registry's TLS and its token issuer's key
want docker docker.io     # the unmodified docker CLI the Engine API tests talk to (its dockerd is never started)
want curl curl            # raw requests to the Engine API's unix socket in those tests
want /usr/bin/prometheus prometheus   # dockerswarm_sd_configs discovering tasks through the Engine API (docker-api-prometheus.test.ts)
if ((bench)); then
  want /usr/sbin/dockerd docker.io   # the peer in bench/docker-swarm-deploy.sh
  want runc runc                     # the peer in bench/container-start.ts
  want iperf3 iperf3                 # TCP throughput in bench/overlay.ts
  want crun crun                     # the fast C runtime, also measured there
  want hyperfine hyperfine           # cross-checks runc's time outside Node
fi

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
