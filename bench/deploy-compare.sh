#!/usr/bin/env bash
# Deploy benchmark, tsswarm against Docker Swarm in one run, alternating:
# each round runs bench/deploy.ts (a fresh one-host tsswarm cluster) and then
# bench/docker-swarm-deploy.sh (a private dockerd in swarm mode), once each.
# Medians and ratios are appended to bench/RESULTS.md. Root; after `npm run build`.
#   bench/deploy-compare.sh [--rounds 3] [--replicas 100]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 replicas=100
while (($#)); do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --replicas) replicas="$2"; shift 2 ;;
    *) echo "usage: $0 [--rounds R] [--replicas N]" >&2; exit 2 ;;
  esac
done
ours=() peer=()
for ((r = 1; r <= rounds; r++)); do
  echo "round $r/$rounds: tsswarm" >&2
  ours+=("$(node dist/bench/deploy.js --replicas "$replicas" --runs 1)")
  echo "round $r/$rounds: docker swarm" >&2
  peer+=("$(bash bench/docker-swarm-deploy.sh --replicas "$replicas" --runs 1)")
done
node - "$replicas" "${#ours[@]}" "${ours[@]}" "${peer[@]}" <<'JS'
const [replicas, n, ...rest] = process.argv.slice(2);
const count = Number(n);
const ours = rest.slice(0, count).map((s) => JSON.parse(s));
const peer = rest.slice(count).map((s) => JSON.parse(s));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const row = (what, o, p) => `| ${ours[0].date} | ${what} | ${ours[0].machine}, ${peer[0].peer} (${peer[0].storageDriver}) | ${o} ms | ${p} ms | ${(o / p).toFixed(2)} | median of ${count} rounds, alternating; tsswarm: CLI wall time until ${replicas}/${replicas} running; peer: command start to last task Running (its CLI waits 5 s more) |`;
const od = median(ours.map((x) => x.deployMedianMs)), pd = median(peer.map((x) => x.deployMedianMs));
const os = median(ours.map((x) => x.scaleMedianMs)), ps = median(peer.map((x) => x.scaleMedianMs));
const lines = [row(`deploy 0→${replicas} replicas (one host)`, od, pd), row(`scale 10→${replicas} replicas (one host)`, os, ps)];
require('fs').appendFileSync('bench/RESULTS.md', lines.join('\n') + '\n');
console.log(lines.join('\n'));
JS
