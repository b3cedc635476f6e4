#!/usr/bin/env bash
# Failover benchmark, tsswarm against Docker Swarm (one dockerd per test-host
# namespace) in one run, alternating: each round runs bench/failover.ts and then
# bench/docker-swarm-failover.sh once, each on a fresh 3-host cluster with 30
# replicas, a power cut of host 3, timed until the node is reported down and
# until 30 replicas run again elsewhere. Both with their default heartbeat and
# restart settings. The medians and their ratio are appended to
# bench/RESULTS.md as one row. Root; after `npm run build`.
#   bench/failover-compare.sh [--rounds 5]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=5
while (($#)); do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    *) echo "usage: $0 [--rounds R]" >&2; exit 2 ;;
  esac
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "failover-compare: --rounds takes a positive integer" >&2; exit 2; }
[[ -f dist/bench/failover.js ]] || { echo "failover-compare: dist/bench/failover.js missing; run npm run build" >&2; exit 1; }
ours=() peer=()
for ((r = 1; r <= rounds; r++)); do
  echo "round $r/$rounds: tsswarm" >&2
  ours+=("$(node dist/bench/failover.js --runs 1 --no-record)")
  echo "round $r/$rounds: docker swarm" >&2
  peer+=("$(bash bench/docker-swarm-failover.sh --runs 1)")
done
node - "${#ours[@]}" "${ours[@]}" "${peer[@]}" <<'JS'
const [n, ...rest] = process.argv.slice(2);
const count = Number(n);
const ours = rest.slice(0, count).map((s) => JSON.parse(s));
const peer = rest.slice(count).map((s) => JSON.parse(s));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return Math.round(s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2); };
const med = (runs, k) => median(runs.flatMap((x) => x[k]));
const [oAll, oDown, pAll, pDown] = [med(ours, 'allMs'), med(ours, 'downMs'), med(peer, 'allMs'), med(peer, 'downMs')];
const row = `| ${peer[0].date} | failover: power cut of 1 of 3 hosts (30 replicas) until all 30 run again | ${peer[0].machine}, ${peer[0].peer} | ${oAll} ms (node down ${oDown} ms) | ${pAll} ms (node down ${pDown} ms) | ${(oAll / pAll).toFixed(2)} | median of ${count} rounds, alternating; defaults both (tsswarm heartbeat 500 ms grace 1.5 s; Docker heartbeat 5 s, restart delay 5 s); tsswarm all ${JSON.stringify(ours.flatMap((x) => x.allMs))}, Docker all ${JSON.stringify(peer.flatMap((x) => x.allMs))} |`;
require('fs').appendFileSync('bench/RESULTS.md', `${row}\n`);
console.log(row);
JS
