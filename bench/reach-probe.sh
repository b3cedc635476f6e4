# Runs inside a client container (busybox sh) on both sides of the multi-host
# benchmark (bench/multihost.ts and bench/docker-swarm-multihost.sh), so both
# measure "reachable by name" the same way: a DNS query for tasks.web, type A,
# over TCP (2-byte length prefix; over UDP an answer with more than ~29 A
# records is truncated, and busybox nslookup does not retry over TCP) to the
# container's own resolver (the first nameserver of /etc/resolv.conf:
# 127.0.0.11 on Docker, the network's gateway on tsswarm), parsed from od's
# byte dump; then an HTTP GET to every address at once.
# Prints "<addresses> <answered>".
# (`timeout 3 wget`, not `wget -T`: busybox 1.35's wget -T crashes here.)
ns=$(awk '$1 == "nameserver" { print $2; exit }' /etc/resolv.conf)
q="\000\033\022\064\001\000\000\001\000\000\000\000\000\000\005tasks\003web\000\000\001\000\001"
ips=$(printf "$q" | nc -w 2 "$ns" 53 | od -An -v -tu1 | awk '
function skip(p) { while (b[p] != 0) { if (b[p] >= 192) return p + 2; p += b[p] + 1 } return p + 1 }
{ for (i = 1; i <= NF; i++) b[n++] = $i }
END {
  if (n < 14) exit
  qd = b[6] * 256 + b[7]; an = b[8] * 256 + b[9]; p = 14
  for (k = 0; k < qd; k++) p = skip(p) + 4
  for (k = 0; k < an && p < n; k++) {
    p = skip(p); t = b[p] * 256 + b[p + 1]; rl = b[p + 8] * 256 + b[p + 9]; p += 10
    if (t == 1 && rl == 4) print b[p] "." b[p + 1] "." b[p + 2] "." b[p + 3]
    p += rl
  }
}' | sort -u)
ok=$(for ip in $ips; do (timeout 3 wget -q -O /dev/null "http://$ip:8080/" && echo ok) & done; wait)
echo "$(echo $ips | wc -w) $(echo "$ok" | grep -c ok)"
