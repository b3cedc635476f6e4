#!/bin/sh
# A node exporter in a few lines: the host's load and memory, read from its /proc (bound
# read-only at /host/proc), in the Prometheus text format. Served by busybox httpd as a CGI.
echo "Content-Type: text/plain; version=0.0.4"
echo
read one five fifteen rest < /host/proc/loadavg
echo "node_load1 $one"
echo "node_load5 $five"
echo "node_load15 $fifteen"
while read key value unit; do
  case "$key" in
    MemTotal:) echo "node_memory_MemTotal_bytes $((value * 1024))" ;;
    MemAvailable:) echo "node_memory_MemAvailable_bytes $((value * 1024))" ;;
  esac
done < /host/proc/meminfo
echo "node_uname_info{nodename=\"$NODE_NAME\"} 1"
