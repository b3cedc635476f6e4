#!/usr/bin/env bash
# Stack data benchmark, tsswarm against Docker Swarm in one run, alternating:
# each round runs, once each and in this order, bench/stack-data.ts --hosts 1
# (a fresh one-host cluster), bench/docker-swarm-stack-data.sh --hosts 1 (a
# fresh one-node swarm), bench/stack-data.ts --hosts 3 and
# bench/docker-swarm-stack-data.sh --hosts 3 (three test hosts each). The
# stack: N replicas of busybox httpd, each with a named volume, a secret and a
# config. Medians and ratios of the deploy on one host, the deploy on three
# hosts and the secret's delivery to every task on three hosts are appended to
# bench/RESULTS.md. Root; after `npm run build`.
#   bench/stack-data-compare.sh [--rounds 8] [--one N (100)] [--three N (30)] [--no-record]
# --no-record prints the rows without appending them (smoke tests).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/compare-lib.sh
source bench/compare-lib.sh
rounds=8 one=100 three=30 no_record=""
while (($#)); do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --one) one="$2"; shift 2 ;;
    --three) three="$2"; shift 2 ;;
    --no-record) no_record=1; shift ;;
    *) echo "usage: $0 [--rounds R] [--one N] [--three N] [--no-record]" >&2; exit 2 ;;
  esac
done
for v in "$rounds" "$one" "$three"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "stack-data-compare: --rounds, --one and --three take positive integers" >&2; exit 2; }
done
require_built dist/bench/stack-data.js

# Integration tests on the same 2 cores make every figure wrong: say so, before and after.
tests_running() { local n; n=$(pgrep -fc 'node --test' || true); echo "${n:-0}"; }
overlap=""
n=$(tests_running)
((n > 0)) && { echo "stack-data-compare: warning: $n 'node --test' processes running: the figures will be noisy" >&2; overlap=1; }

# Every invocation keeps its logs under $logs; they are deleted when it succeeds. A failed one
# is retried once (its logs kept, its reason named in the rows); a second failure ends the run.
logs=$(mktemp -d /tmp/stack-data-compare.XXXXXX)
failures=()
# run_side WHAT ARRAY CMD…: CMD --keep-log DIR, its JSON line appended to the array named ARRAY.
run_side() {
  local what="$1" try out dir reason
  local -n into="$2"
  shift 2
  for try in 1 2; do
    echo "round $r/$rounds: $what" >&2
    dir="$logs/round$r-${what// /-}-$try"
    # stdout (the JSON line) captured through fd 3, stderr shown and kept in $dir.err.
    if out=$({ "$@" --keep-log "$dir" 2>&1 1>&3 3>&- | tee "$dir.err" >&2 3>&-; } 3>&1); then
      rm -rf "$dir" "$dir.err"
      into+=("$out")
      return 0
    fi
    reason=$(grep -v '^ *$' "$dir.err" | tail -1 | cut -c1-300 | tr '|' '/')
    failures+=("round $r, $what: $reason")
    echo "stack-data-compare: $what failed (logs in $dir, $dir.err)" >&2
  done
  echo "stack-data-compare: $what failed twice; stopping" >&2
  exit 1
}

ours=() peer=()
for ((r = 1; r <= rounds; r++)); do
  run_side "tsswarm, one host" ours node dist/bench/stack-data.js --hosts 1 --replicas "$one" --runs 1
  run_side "docker swarm, one host" peer bash bench/docker-swarm-stack-data.sh --hosts 1 --replicas "$one" --runs 1
  run_side "tsswarm, three hosts" ours node dist/bench/stack-data.js --hosts 3 --replicas "$three" --runs 1
  run_side "docker swarm, three hosts" peer bash bench/docker-swarm-stack-data.sh --hosts 3 --replicas "$three" --runs 1
  n=$(tests_running)
  ((n > 0)) && { echo "stack-data-compare: warning: $n 'node --test' processes running after round $r" >&2; overlap=1; }
done
if ((${#failures[@]})); then
  echo "stack-data-compare: ${#failures[@]} failed invocation(s), rerun; their logs are in $logs" >&2
else
  rmdir "$logs" 2>/dev/null || true
fi
FAILURES=$(IFS='|'; echo "${failures[*]}")
export FAILURES
export OVERLAP="$overlap" NO_RECORD="$no_record"

compare_report <<'JS'
const rounds = count / 2;
const of = (xs, hosts) => xs.filter((x) => x.hosts === hosts);
const o1 = of(ours, 1), p1 = of(peer, 1), o3 = of(ours, 3), p3 = of(peer, 3);
const failed = process.env.FAILURES ? process.env.FAILURES.split('|') : [];
const noisy = (process.env.OVERLAP ? '; integration tests ran on the same machine during the run (noisy)' : '') +
  (failed.length ? `; ${failed.length} invocation(s) failed and were rerun: ${failed.join('; ')}` : '');
const all = (xs, k) => `[${xs.map((x) => x[k][0]).join(',')}]`;
const machine = (p) => `${p[0].machine}, Linux ${p[0].kernel}, ${p[0].peer.replace(/\)$/, `, ${p[0].storageDriver})`)}`;
const row = (what, p, o, pm, notes) => `| ${ours[0].date} | ${what} | ${machine(p)} | ${o} ms | ${pm} ms | ${(o / pm).toFixed(2)} | median of ${rounds} rounds, alternating, a fresh cluster each; ${notes}${noisy} |`;
const stackNote = 'one busybox httpd service, stop grace 1s, each replica with named volume `data` at /data (local, one per node), secret `token` (file) and config `conf` (file)';
const d1o = median(o1.map((x) => x.deployMs[0])), d1p = median(p1.map((x) => x.deployMs[0]));
const d3o = median(o3.map((x) => x.deployMs[0])), d3p = median(p3.map((x) => x.deployMs[0]));
const s3o = median(o3.map((x) => x.secretMs[0])), s3p = median(p3.map((x) => x.secretMs[0]));
const n1 = o1[0].replicas, n3 = o3[0].replicas;
(process.env.NO_RECORD ? (rows) => console.log(rows.join('\n')) : record)([
  row(`stack deploy 0→${n1} replicas, each with a named volume, a secret and a config (one host)`, p1, d1o, d1p,
    `${stackNote}; tsswarm: deploy CLI wall time until ${n1}/${n1} running; peer: docker stack deploy start to last task Running (its CLI returns at once, median ${median(p1.map((x) => x.deployCliMs[0]))} ms); tsswarm ${all(o1, 'deployMs')}, Docker ${all(p1, 'deployMs')}`),
  row(`stack deploy 0→${n3} replicas, each with a named volume, a secret and a config (3 hosts)`, p3, d3o, d3p,
    `as above, h1 manager + 2 workers, the secret probe running meanwhile; tsswarm ${all(o3, 'deployMs')}, Docker ${all(p3, 'deployMs')}`),
  row(`secret delivery to ${n3} tasks (3 hosts): deploy start until every task reads the secret's bytes at /run/secrets/token`, p3, s3o, s3p,
    `both: containers found by the hosts' cgroup parents every 20 ms, each read from inside with nsenter into its pid until it answers the bytes; the last task's first good read; tsswarm ${all(o3, 'secretMs')}, Docker ${all(p3, 'secretMs')}`),
]);
JS
