import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidSeccompProfileError, parseSeccompProfile } from '../../../shared/seccomp-profile';
import type { SeccompProfile } from '../../../shared/seccomp-profile';
import { defaultOciSeccomp, ociSeccomp } from '../../../agent/runtime/oci/seccomp';
import type { OciSeccomp, OciSyscall } from '../../../agent/runtime/oci/seccomp';

/** Docker's default capability set (moby oci/caps). */
const DOCKER_CAPS = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];
const KERNEL = '6.18.44';

/** The rules that can let `name` through, and whether one of them does so whatever the arguments. */
function allowing(out: OciSeccomp, name: string): { rules: OciSyscall[]; always: boolean } {
  const rules = (out.syscalls ?? []).filter((r) => r.action === 'SCMP_ACT_ALLOW' && r.names.includes(name));
  return { rules, always: rules.some((r) => r.args === undefined) };
}

function allowedNames(out: OciSeccomp): Set<string> {
  return new Set((out.syscalls ?? []).filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names));
}

describe('parseSeccompProfile', () => {
  const rule = (r: Record<string, unknown>) => JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [r] });
  const errors: { name: string; text: string; message: string }[] = [
    { name: 'invalid JSON', text: '{\n  "defaultAction": }\n', message: 'seccomp profile ./p.json: invalid JSON: ' },
    { name: 'not an object', text: '[]', message: 'seccomp profile ./p.json: expected an object, got an array' },
    { name: 'no default action', text: '{"syscalls": []}', message: 'seccomp profile ./p.json: defaultAction: required' },
    {
      name: 'unknown default action',
      text: '{"defaultAction": "SCMP_ACT_DENY"}',
      message: 'seccomp profile ./p.json: defaultAction: unknown action "SCMP_ACT_DENY"',
    },
    {
      name: 'unknown action',
      text: rule({ names: ['read'], action: 'SCMP_ACT_FOO' }),
      message: 'seccomp profile ./p.json: syscalls[0].action: unknown action "SCMP_ACT_FOO"',
    },
    {
      name: 'unknown op',
      text: rule({ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_IN' }] }),
      message: 'seccomp profile ./p.json: syscalls[0].args[0].op: unknown op "SCMP_CMP_IN"',
    },
    {
      name: 'argument index past the sixth',
      text: rule({ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }),
      message: 'seccomp profile ./p.json: syscalls[0].args[0].index: 6 is out of range (at most 5)',
    },
    {
      name: 'negative index',
      text: rule({ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: -1, value: 1, op: 'SCMP_CMP_EQ' }] }),
      message: 'seccomp profile ./p.json: syscalls[0].args[0].index: expected a non-negative integer, got -1',
    },
    {
      name: 'a value JSON cannot hold exactly',
      text: rule({ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2 ** 60, op: 'SCMP_CMP_EQ' }] }),
      message: `seccomp profile ./p.json: syscalls[0].args[0].value: ${2 ** 60} is out of range (at most ${Number.MAX_SAFE_INTEGER})`,
    },
    {
      name: 'non-string name',
      text: rule({ names: ['read', 3], action: 'SCMP_ACT_ALLOW' }),
      message: 'seccomp profile ./p.json: syscalls[0].names[1]: expected a string, got number',
    },
    {
      name: 'a name that is no syscall name',
      text: rule({ names: ['read\nwrite'], action: 'SCMP_ACT_ALLOW' }),
      message: 'seccomp profile ./p.json: syscalls[0].names[0]: "read\\nwrite" is not a syscall name',
    },
    {
      name: 'no names',
      text: rule({ action: 'SCMP_ACT_ALLOW' }),
      message: 'seccomp profile ./p.json: syscalls[0].names: required',
    },
    {
      name: 'both name and names',
      text: rule({ name: 'read', names: ['write'], action: 'SCMP_ACT_ALLOW' }),
      message: 'seccomp profile ./p.json: syscalls[0].name: cannot be combined with "names"',
    },
    {
      name: 'a misspelt field',
      text: rule({ names: ['read'], action: 'SCMP_ACT_ALLOW', include: { caps: ['CAP_SYS_ADMIN'] } }),
      message: 'seccomp profile ./p.json: syscalls[0].include: unknown field',
    },
    {
      name: 'errnoRet on an action that returns none',
      text: rule({ names: ['read'], action: 'SCMP_ACT_ALLOW', errnoRet: 1 }),
      message:
        'seccomp profile ./p.json: syscalls[0].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE return a value, not SCMP_ACT_ALLOW',
    },
    {
      name: 'unknown arch in a condition',
      text: rule({ names: ['read'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['x86_64'] } }),
      message: 'seccomp profile ./p.json: syscalls[0].includes.arches[0]: unknown architecture "x86_64"',
    },
    {
      name: 'bad kernel version',
      text: rule({ names: ['read'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '4.8.1' } }),
      message:
        'seccomp profile ./p.json: syscalls[0].includes.minKernel: "4.8.1" is not a kernel version "<major>.<minor>" (like "4.8")',
    },
    {
      name: 'capability without CAP_',
      text: rule({ names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['SYS_ADMIN'] } }),
      message:
        'seccomp profile ./p.json: syscalls[0].includes.caps[0]: "SYS_ADMIN" is not a capability name (like "CAP_SYS_ADMIN")',
    },
    {
      name: 'unknown archMap architecture',
      text: '{"defaultAction": "SCMP_ACT_ERRNO", "archMap": [{"architecture": "SCMP_ARCH_X86_65", "subArchitectures": []}]}',
      message: 'seccomp profile ./p.json: archMap[0].architecture: unknown architecture "SCMP_ARCH_X86_65"',
    },
    {
      name: 'architectures and archMap together',
      text: JSON.stringify({
        defaultAction: 'SCMP_ACT_ERRNO',
        architectures: ['SCMP_ARCH_X86_64'],
        archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: null }],
      }),
      message: 'seccomp profile ./p.json: archMap: cannot be combined with "architectures"; use one of them',
    },
    {
      name: 'unknown flag',
      text: '{"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_FAST"]}',
      message: 'seccomp profile ./p.json: flags[0]: unknown flag "SECCOMP_FILTER_FLAG_FAST"',
    },
  ];
  for (const c of errors) {
    it(`refuses ${c.name} in one line naming the source and field`, () => {
      assert.throws(
        () => parseSeccompProfile(c.text, './p.json'),
        (e: unknown) => {
          assert.ok(e instanceof InvalidSeccompProfileError);
          assert.equal(e.code, 'INVALID_SECCOMP_PROFILE');
          assert.equal(e.source, './p.json');
          assert.ok(e.message.startsWith(c.message), e.message);
          assert.ok(!e.message.includes('\n'), e.message);
          return true;
        },
      );
    });
  }

  it('reads what Docker accepts: nulls, empty conditions, the old single name', () => {
    const p = parseSeccompProfile(
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ERRNO',
        archMap: [{ architecture: 'SCMP_ARCH_RISCV64', subArchitectures: null }],
        syscalls: [
          { name: 'read', action: 'SCMP_ACT_ALLOW', args: null, comment: '', includes: {}, excludes: {} },
          {
            names: ['clone'],
            action: 'SCMP_ACT_ALLOW',
            args: [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
            excludes: { caps: ['CAP_SYS_ADMIN'] },
          },
          { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
        ],
      }),
      'inline',
    );
    assert.deepEqual(p, {
      defaultAction: 'SCMP_ACT_ERRNO',
      archMap: [{ architecture: 'SCMP_ARCH_RISCV64', subArchitectures: [] }],
      syscalls: [
        { names: ['read'], action: 'SCMP_ACT_ALLOW' },
        {
          names: ['clone'],
          action: 'SCMP_ACT_ALLOW',
          args: [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
          excludes: { caps: ['CAP_SYS_ADMIN'] },
        },
        { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
      ],
    });
  });
});

describe('the default profile', () => {
  const onX64 = defaultOciSeccomp(DOCKER_CAPS, 'x64', KERNEL);

  it('denies with EPERM and filters the x86 family on x64', () => {
    assert.equal(onX64.defaultAction, 'SCMP_ACT_ERRNO');
    assert.equal(onX64.defaultErrnoRet, 1);
    assert.deepEqual(onX64.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  });

  it('allows what ordinary programs need, and chroot with CAP_SYS_CHROOT', () => {
    for (const name of ['read', 'write', 'execve', 'openat', 'futex', 'chroot', 'ptrace', 'arch_prctl']) {
      assert.equal(allowing(onX64, name).always, true, name);
    }
  });

  it('does not allow what reaches past the container', () => {
    const allowed = allowedNames(onX64);
    for (const name of [
      'mount',
      'umount2',
      'unshare',
      'setns',
      'kexec_load',
      'init_module',
      'finit_module',
      'open_by_handle_at',
      'bpf',
      'perf_event_open',
      'keyctl',
      'add_key',
      'request_key',
      'swapon',
      'swapoff',
      'reboot',
      'userfaultfd',
      'clock_settime',
    ]) {
      assert.equal(allowed.has(name), false, name);
    }
  });

  it('allows clone only without namespace flags, and answers clone3 with ENOSYS', () => {
    assert.deepEqual(allowing(onX64, 'clone').rules, [
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, op: 'SCMP_CMP_MASKED_EQ' }] },
    ]);
    const clone3 = (onX64.syscalls ?? []).filter((r) => r.names.includes('clone3'));
    assert.deepEqual(clone3, [{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }]);
  });

  it('allows socket except AF_VSOCK, and only harmless personalities', () => {
    assert.deepEqual(allowing(onX64, 'socket').rules.map((r) => r.args), [[{ index: 0, value: 40, op: 'SCMP_CMP_NE' }]]);
    const personalities = allowing(onX64, 'personality').rules.map((r) => r.args?.[0]?.value);
    assert.deepEqual(personalities, [0x0, 0x8, 0x20000, 0x20008, 0xffffffff]);
  });

  it('lists every name once', () => {
    const plain = (onX64.syscalls ?? []).filter((r) => r.action === 'SCMP_ACT_ALLOW' && r.args === undefined);
    assert.equal(plain.length, 1);
    assert.equal(new Set(plain[0]?.names).size, plain[0]?.names.length);
  });

  it('with CAP_SYS_ADMIN allows mount and clone whatever its flags, and clone3', () => {
    const admin = defaultOciSeccomp([...DOCKER_CAPS, 'CAP_SYS_ADMIN'], 'x64', KERNEL);
    for (const name of ['mount', 'umount2', 'unshare', 'setns', 'clone', 'clone3', 'bpf']) {
      assert.equal(allowing(admin, name).always, true, name);
    }
    assert.deepEqual(
      allowing(admin, 'clone').rules.filter((r) => r.args !== undefined),
      [],
    );
    assert.equal((admin.syscalls ?? []).some((r) => r.action === 'SCMP_ACT_ERRNO'), false);
  });

  it('takes capabilities with or without the CAP_ prefix', () => {
    assert.deepEqual(defaultOciSeccomp(['sys_admin'], 'x64', KERNEL), defaultOciSeccomp(['CAP_SYS_ADMIN'], 'x64', KERNEL));
  });

  it('allows arch_prctl on x64 but not on arm64, which gets the arm calls', () => {
    const onArm64 = defaultOciSeccomp(DOCKER_CAPS, 'arm64', KERNEL);
    assert.deepEqual(onArm64.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
    const arm = allowedNames(onArm64);
    const x86 = allowedNames(onX64);
    assert.equal(x86.has('arch_prctl'), true);
    assert.equal(arm.has('arch_prctl'), false);
    assert.equal(arm.has('modify_ldt'), false);
    assert.equal(arm.has('set_tls'), true);
    assert.equal(x86.has('set_tls'), false);
  });

  it('on s390x filters clone by its second argument', () => {
    const s390x = defaultOciSeccomp(DOCKER_CAPS, 's390x', KERNEL);
    assert.deepEqual(allowing(s390x, 'clone').rules.map((r) => r.args?.[0]?.index), [1]);
  });

  it('allows ptrace to an unprivileged container only from kernel 4.8', () => {
    assert.equal(allowedNames(defaultOciSeccomp(DOCKER_CAPS, 'x64', '4.4.0-210-generic')).has('ptrace'), false);
    assert.equal(allowedNames(defaultOciSeccomp(DOCKER_CAPS, 'x64', '4.8')).has('ptrace'), true);
    assert.equal(allowedNames(defaultOciSeccomp(['CAP_SYS_PTRACE'], 'x64', '4.4.0')).has('ptrace'), true);
  });
});

describe('ociSeccomp', () => {
  const profile = (syscalls: SeccompProfile['syscalls']): SeccompProfile => ({ defaultAction: 'SCMP_ACT_ERRNO', syscalls });
  const target = { capabilities: ['CAP_NET_ADMIN'], arch: 'x64', kernel: '5.10.0' };

  it('keeps a rule that includes caps only if the container has every one', () => {
    const out = ociSeccomp(
      profile([
        { names: ['a'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_NET_ADMIN'] } },
        { names: ['b'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN'] } },
      ]),
      target,
    );
    assert.deepEqual(out.syscalls, [{ names: ['a'], action: 'SCMP_ACT_ALLOW' }]);
  });

  it('drops a rule that excludes caps if the container has any one', () => {
    const out = ociSeccomp(
      profile([
        { names: ['a'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'] } },
        { names: ['b'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_ADMIN'] } },
      ]),
      target,
    );
    assert.deepEqual(out.syscalls, [{ names: ['b'], action: 'SCMP_ACT_ALLOW' }]);
  });

  it('compares minKernel by major and minor', () => {
    const p = profile([
      { names: ['new'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '5.10' } },
      { names: ['newer'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '5.11' } },
      { names: ['old'], action: 'SCMP_ACT_ALLOW', excludes: { minKernel: '5.10' } },
    ]);
    assert.deepEqual(ociSeccomp(p, target).syscalls, [{ names: ['new'], action: 'SCMP_ACT_ALLOW' }]);
  });

  it('merges rules that differ only in names, lists each name once and drops empty rules', () => {
    const out = ociSeccomp(
      profile([
        { names: ['a', 'b'], action: 'SCMP_ACT_ALLOW' },
        { names: [], action: 'SCMP_ACT_LOG' },
        { names: ['b', 'c'], action: 'SCMP_ACT_ALLOW' },
        { names: ['d'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
        { names: ['e'], action: 'SCMP_ACT_ALLOW', args: [{ op: 'SCMP_CMP_EQ', value: 1, index: 0 }] },
      ]),
      target,
    );
    assert.deepEqual(out.syscalls, [
      { names: ['a', 'b', 'c'], action: 'SCMP_ACT_ALLOW' },
      { names: ['d', 'e'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
    ]);
  });

  it('passes a fixed architecture list through, and adds none for an architecture it cannot name', () => {
    const fixed: SeccompProfile = { ...profile([]), architectures: ['SCMP_ARCH_X86_64'], flags: ['SECCOMP_FILTER_FLAG_LOG'] };
    assert.deepEqual(ociSeccomp(fixed, target), {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64'],
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
    });
    assert.equal(defaultOciSeccomp([], 'wasm32', KERNEL).architectures, undefined);
  });

  it('converts a parsed user profile', () => {
    const p = parseSeccompProfile(
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ALLOW',
        archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }],
        syscalls: [{ name: 'chmod', action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
      }),
      'p.json',
    );
    assert.deepEqual(ociSeccomp(p, target), {
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
      syscalls: [{ names: ['chmod'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
    });
  });
});
