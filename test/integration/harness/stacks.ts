/** The stack the fault-injection tests and failover benchmarks deploy. */

/** One service `web`: busybox httpd on 8080, stopped within 1 s, `replicas` of it. */
export function httpdStack(replicas: number): string {
  return ['services:', '  web:', '    image: busybox', '    command: httpd -f -p 8080 -h /var/www', '    stop_grace_period: 1s', `    deploy: { replicas: ${replicas} }`, ''].join('\n');
}

/** A command that runs until SIGTERM and then exits at once (busybox sh as PID 1 ignores it otherwise). */
export const UNTIL_TERM = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"];

/**
 * One service `web` of `replicas` tasks running UNTIL_TERM with env V=`version`: a new version is a
 * new spec, so deploying it rolls the service out with `update` (update_config lines).
 */
export function versionedStack(version: number, replicas: number, update: string[], extra: string[] = []): string {
  return [
    'services:',
    '  web:',
    '    image: busybox',
    `    command: ${JSON.stringify(UNTIL_TERM)}`,
    `    environment: { V: "${version}" }`,
    '    stop_grace_period: 2s',
    ...extra.map((l) => `    ${l}`),
    '    deploy:',
    `      replicas: ${replicas}`,
    '      update_config:',
    ...update.map((l) => `        ${l}`),
    '',
  ].join('\n');
}
