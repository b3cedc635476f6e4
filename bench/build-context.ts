/**
 * The build benchmark's context, the same for tsswarm and Docker: a small multi-stage Dockerfile
 * (a build stage that generates files and packs them, a final stage that copies and unpacks them,
 * the usual shape of a compiled app's image) and ~2 MB of source files.
 *   node dist/bench/build-context.js DIR
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

export const BENCH_DOCKERFILE = `FROM busybox AS build
WORKDIR /src
COPY . .
RUN for i in $(seq 1 2000); do echo "generated line $i" >> gen.txt; done && tar -cf /out.tar .
FROM busybox
ENV APP=/app
COPY --from=build /out.tar /tmp/out.tar
RUN mkdir -p /app && tar -xf /tmp/out.tar -C /app && rm /tmp/out.tar
WORKDIR /app
CMD ["ls", "/app"]
`;

export function writeBuildContext(dir: string): void {
  fs.mkdirSync(path.join(dir, 'src', 'lib'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'Dockerfile'), BENCH_DOCKERFILE);
  fs.writeFileSync(path.join(dir, '.dockerignore'), 'Dockerfile\n');
  for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(dir, 'src', 'lib', `mod${i}.js`), randomBytes(25_000).toString('base64'));
  fs.writeFileSync(path.join(dir, 'src', 'main.js'), 'console.log("hello")\n');
}

if (require.main === module) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: node dist/bench/build-context.js DIR');
  writeBuildContext(dir);
}
