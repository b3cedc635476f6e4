/** The stack the fault-injection tests and failover benchmarks deploy. */

/** One service `web`: busybox httpd on 8080, stopped within 1 s, `replicas` of it. */
export function httpdStack(replicas: number): string {
  return ['services:', '  web:', '    image: busybox', '    command: httpd -f -p 8080 -h /var/www', '    stop_grace_period: 1s', `    deploy: { replicas: ${replicas} }`, ''].join('\n');
}
