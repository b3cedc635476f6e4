import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeEnv, resolveArgs } from '../../../../agent/executor/container-controller';
import type { ImageConfig } from '../../../../agent/image/types';
import type { AssignedTask } from '../../../../shared/proto/codec';
import { taskSpec } from '../../fixtures';

function taskWith(entrypoint: string[] | null, command: string[] | null): AssignedTask {
  return {
    id: 't',
    serviceId: 's',
    serviceName: 'web',
    slot: 1,
    desiredState: 'running',
    spec: taskSpec({ container: { entrypoint, command } }),
    observedState: 'assigned', networks: [], paused: false, serviceLabels: {},
  };
}

function image(entrypoint: string[] | null, cmd: string[] | null): ImageConfig {
  return { entrypoint, cmd, env: [], workingDir: null, user: null };
}

describe('resolveArgs (Docker entrypoint/cmd rules)', () => {
  const table: { name: string; svc: [string[] | null, string[] | null]; img: [string[] | null, string[] | null]; want: string[] }[] = [
    { name: 'nothing given: image entrypoint + image cmd', svc: [null, null], img: [['/entry.sh'], ['serve']], want: ['/entry.sh', 'serve'] },
    { name: 'nothing given, image has only cmd', svc: [null, null], img: [null, ['sh', '-c', 'x']], want: ['sh', '-c', 'x'] },
    { name: 'nothing given, image has only entrypoint', svc: [null, null], img: [['/bin/app'], null], want: ['/bin/app'] },
    { name: 'nothing anywhere', svc: [null, null], img: [null, null], want: [] },
    { name: 'command replaces image cmd, keeps image entrypoint', svc: [null, ['run', '--fast']], img: [['/entry.sh'], ['serve']], want: ['/entry.sh', 'run', '--fast'] },
    { name: 'command with no image entrypoint', svc: [null, ['sleep', '1']], img: [null, ['sh']], want: ['sleep', '1'] },
    { name: 'entrypoint replaces image entrypoint and drops image cmd', svc: [['/bin/other'], null], img: [['/entry.sh'], ['serve']], want: ['/bin/other'] },
    { name: 'entrypoint and command both given', svc: [['/bin/other'], ['a', 'b']], img: [['/entry.sh'], ['serve']], want: ['/bin/other', 'a', 'b'] },
    { name: 'empty entrypoint clears image entrypoint and cmd', svc: [[], null], img: [['/entry.sh'], ['serve']], want: [] },
    { name: 'empty entrypoint with a command runs the command', svc: [[], ['sh']], img: [['/entry.sh'], ['serve']], want: ['sh'] },
    { name: 'empty command keeps image entrypoint, drops image cmd', svc: [null, []], img: [['/entry.sh'], ['serve']], want: ['/entry.sh'] },
  ];
  for (const c of table) {
    it(c.name, () => {
      assert.deepEqual(resolveArgs(taskWith(...c.svc), image(...c.img)), c.want);
    });
  }

  it('does not alias the spec or image arrays', () => {
    const t = taskWith(['/e'], ['c']);
    const got = resolveArgs(t, image(null, null));
    got.push('x');
    assert.deepEqual(t.spec.container.entrypoint, ['/e']);
    assert.deepEqual(t.spec.container.command, ['c']);
  });
});

describe('mergeEnv', () => {
  const table: { name: string; image: string[]; task: string[]; want: string[] }[] = [
    { name: 'both empty', image: [], task: [], want: [] },
    { name: 'image only', image: ['PATH=/bin', 'HOME=/root'], task: [], want: ['PATH=/bin', 'HOME=/root'] },
    { name: 'task only', image: [], task: ['A=1'], want: ['A=1'] },
    { name: 'task adds after image', image: ['PATH=/bin'], task: ['A=1'], want: ['PATH=/bin', 'A=1'] },
    { name: 'task overrides image, in the image position', image: ['PATH=/bin', 'HOME=/root'], task: ['PATH=/usr/bin'], want: ['PATH=/usr/bin', 'HOME=/root'] },
    { name: 'a later task entry overrides an earlier one', image: [], task: ['A=1', 'A=2'], want: ['A=2'] },
    { name: 'an empty value is a value', image: ['A=1'], task: ['A='], want: ['A='] },
    { name: 'values may contain =', image: [], task: ['URL=a=b=c'], want: ['URL=a=b=c'] },
    { name: 'the key is the text before the first =', image: ['A=x=1'], task: ['A=y'], want: ['A=y'] },
    { name: 'keys are case-sensitive', image: ['path=/x'], task: ['PATH=/y'], want: ['path=/x', 'PATH=/y'] },
  ];
  for (const c of table) {
    it(c.name, () => assert.deepEqual(mergeEnv(c.image, c.task), c.want));
  }
});
