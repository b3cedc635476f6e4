#!/usr/bin/env bash
# Encrypted overlay throughput, tsswarm against Docker Swarm in one run, alternating: each round
# runs bench/encrypted-overlay.ts (tsswarm's encrypted and plain overlay, iperf3 between two netns
# hosts) and then bench/docker-swarm-encrypted-overlay.sh (Docker's `--opt encrypted` overlay and
# its plain one, iperf3 between containers on two dockerd hosts) once. Medians and ratios are
# appended to bench/RESULTS.md. Root; after `npm run build`.
#   bench/encrypted-overlay-compare.sh [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/compare-lib.sh
source bench/compare-lib.sh
compare_options 3 "$@"
require_built dist/bench/encrypted-overlay.js
compare_rounds node dist/bench/encrypted-overlay.js --json --rounds 1 --seconds 5 -- bash bench/docker-swarm-encrypted-overlay.sh --runs 1 --seconds 5
compare_report <<'JS'
const o = { enc: median(ours.map((x) => x.encryptedMbps)), plain: median(ours.map((x) => x.plainMbps)), cpu: median(ours.map((x) => x.helperCpuCores)) };
const peerEnc = peer.map((x) => x.encryptedMbps).filter((v) => v !== null);
const p = { enc: peerEnc.length ? median(peerEnc) : null, plain: median(peer.map((x) => x.plainMbps)) };
const why = peer.find((x) => x.encryptedError)?.encryptedError ?? '';
const how = `median of ${count} rounds, alternating with the peer; iperf3 TCP one stream 5 s, two netns hosts on one kernel; higher is better`;
const m = `${ours[0].machine}, ${peer[0].peer}`;
record([
  `| ${ours[0].date} | encrypted overlay throughput (tsswarm: ESP AES-GCM through tsswarm-esp, MTU 1416) vs tsswarm's plain overlay | ${m} | ${o.enc} Mbit/s | plain ${o.plain} Mbit/s | ${(o.enc / o.plain).toFixed(2)} | ${how}; the ESP helpers used ${o.cpu} cores |`,
  `| ${ours[0].date} | encrypted overlay throughput, tsswarm vs Docker Swarm \`--opt encrypted\` (IPsec ESP through xfrm) | ${m} | ${o.enc} Mbit/s | ${p.enc === null ? `no traffic (${why.replace(/\|/g, '/')})` : `${p.enc} Mbit/s`} | ${p.enc === null ? '—' : (o.enc / p.enc).toFixed(2)} | ${how} |`,
  `| ${ours[0].date} | plain overlay throughput, tsswarm vs Docker Swarm (reference for the rows above) | ${m} | ${o.plain} Mbit/s | ${p.plain} Mbit/s | ${(o.plain / p.plain).toFixed(2)} | ${how} |`,
]);
JS
