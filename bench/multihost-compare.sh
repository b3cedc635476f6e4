#!/usr/bin/env bash
# Multi-host benchmark, tsswarm against Docker Swarm (one dockerd per test-host
# namespace) in one run, alternating: each round runs bench/multihost.ts and
# then bench/docker-swarm-multihost.sh once. Medians and ratios are appended to
# bench/RESULTS.md. Root; after `npm run build`.
#   bench/multihost-compare.sh [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3
while (($#)); do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    *) echo "usage: $0 [--rounds R]" >&2; exit 2 ;;
  esac
done
ours=() peer=()
for ((r = 1; r <= rounds; r++)); do
  echo "round $r/$rounds: tsswarm" >&2
  ours+=("$(node dist/bench/multihost.js --runs 1)")
  echo "round $r/$rounds: docker swarm" >&2
  peer+=("$(bash bench/docker-swarm-multihost.sh --runs 1)")
done
node - "${#ours[@]}" "${ours[@]}" "${peer[@]}" <<'JS'
const [n, ...rest] = process.argv.slice(2);
const count = Number(n);
const ours = rest.slice(0, count).map((s) => JSON.parse(s));
const peer = rest.slice(count).map((s) => JSON.parse(s));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const rows = [['deploy30Ms', 'deploy 0→30 tasks until all reachable by name (3 hosts)'], ['scale90Ms', 'scale 30→90 until all reachable (3 hosts)'], ['rm90Ms', 'stack rm of 90 tasks until gone (3 hosts)']].map(([k, what]) => {
  const o = median(ours.map((x) => x[k]));
  const p = median(peer.map((x) => x[k]));
  return `| ${ours[0].date} | ${what} | ${peer[0].machine}, ${peer[0].peer} | ${o} ms | ${p} ms | ${(o / p).toFixed(2)} | median of ${count} rounds, alternating; stop grace 1s both; both: bench/reach-probe.sh in a client container (tasks.web over TCP DNS lists all + every address answers), deploy/scale detached; kernel without IPVS |`;
});
require('fs').appendFileSync('bench/RESULTS.md', rows.join('\n') + '\n');
console.log(rows.join('\n'));
JS
