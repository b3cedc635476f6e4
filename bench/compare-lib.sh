# Sourced by bench/failover-compare.sh, bench/leader-failover-compare.sh,
# bench/multihost-compare.sh and bench/join-compare.sh, from the repo root: what an alternating
# comparison does around its two commands and its RESULTS.md rows.

# compare_options DEFAULT ARGS…: --rounds R into rounds (DEFAULT when not given; a positive integer).
compare_options() {
  rounds="$1"; shift
  while (($#)); do
    case "$1" in
      --rounds) rounds="$2"; shift 2 ;;
      *) echo "usage: $0 [--rounds R]" >&2; exit 2 ;;
    esac
  done
  [[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "$(basename "$0" .sh): --rounds takes a positive integer" >&2; exit 2; }
}

# require_built FILE: exits unless `npm run build` made FILE.
require_built() {
  [[ -f "$1" ]] || { echo "$(basename "$0" .sh): $1 missing; run npm run build" >&2; exit 1; }
}

# compare_rounds OURS… -- PEER…: rounds times, tsswarm's command and then the peer's, once each; their JSON lines into ours and peer.
compare_rounds() {
  local r ours_cmd=() peer_cmd
  while [[ "$1" != -- ]]; do ours_cmd+=("$1"); shift; done
  shift
  peer_cmd=("$@")
  ours=() peer=()
  for ((r = 1; r <= rounds; r++)); do
    echo "round $r/$rounds: tsswarm" >&2
    ours+=("$("${ours_cmd[@]}")")
    echo "round $r/$rounds: docker swarm" >&2
    peer+=("$("${peer_cmd[@]}")")
  done
}

# compare_report < JS: runs the JavaScript on stdin after compare_js_head, which gives it count, ours, peer, median and record.
compare_report() {
  { printf '%s\n' "$compare_js_head"; cat; } | node - "${#ours[@]}" "${ours[@]}" "${peer[@]}"
}
# record(rows) appends the rows to bench/RESULTS.md and prints them; median is exact (a .5 for an even count).
compare_js_head=$(cat <<'JS'
const [n, ...rest] = process.argv.slice(2);
const count = Number(n);
const ours = rest.slice(0, count).map((s) => JSON.parse(s));
const peer = rest.slice(count).map((s) => JSON.parse(s));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const record = (rows) => { require('fs').appendFileSync('bench/RESULTS.md', `${rows.join('\n')}\n`); console.log(rows.join('\n')); };
JS
)
