/** Shared by the compose loader tests: YAML text in, a StackDeployment or a checked ComposeError out. */
import assert from 'node:assert/strict';
import { ComposeError } from '../../../shared/errors';
import type { ServiceSpec, StackDeployment } from '../../../shared/types';
import { loadStackText } from '../../../shared/compose';

/** `text` is written with two-space indentation in the tests; strip the common margin. */
export function yaml(strings: TemplateStringsArray, ...values: string[]): string {
  const raw = strings.reduce((acc, s, i) => acc + s + (values[i] ?? ''), '');
  const lines = raw.replace(/^\n/, '').split('\n');
  const margin = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0));
  return lines.map((l) => l.slice(margin)).join('\n');
}

export interface TestLoadOptions {
  name?: string | null;
  env?: Record<string, string | undefined>;
  dotenv?: Record<string, string>;
  dir?: string;
}

export function load(text: string, opts: TestLoadOptions = {}): StackDeployment {
  return loadStackText(text, {
    name: opts.name === undefined ? 'test' : opts.name,
    env: opts.env ?? {},
    dotenv: opts.dotenv ?? {},
    filename: 'stack.yml',
    dir: opts.dir ?? '/stacks/myapp',
  });
}

/** Asserts loading fails with a ComposeError whose message matches and that names the line. */
export function assertFails(text: string, pattern: RegExp, line: number, opts: TestLoadOptions = {}): void {
  assert.throws(
    () => load(text, opts),
    (e: unknown) => {
      assert.ok(e instanceof ComposeError, `expected ComposeError, got ${String(e)}`);
      assert.match(e.message, pattern);
      assert.ok(e.message.includes(`(line ${line})`), `message should name line ${line}: ${e.message}`);
      assert.equal(e.line, line);
      assert.equal(e.file, 'stack.yml');
      return true;
    },
  );
}

/** The problems of a file that fails to load, one per message line. */
export function problemsOf(text: string, opts: TestLoadOptions = {}): string[] {
  try {
    load(text, opts);
  } catch (e) {
    assert.ok(e instanceof ComposeError, `expected ComposeError, got ${String(e)}`);
    return e.message.split('\n');
  }
  assert.fail('expected the file to fail to load');
}

export function service(stack: StackDeployment, name: string): ServiceSpec {
  const s = stack.services.find((x) => x.name === name);
  assert.ok(s, `service ${name} not found in ${stack.services.map((x) => x.name).join(', ')}`);
  return s;
}
