import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultRuntimeSettings } from '../../../shared/types';
import type { RuntimeSettings, StackDeployment } from '../../../shared/types';
import { loadStackFile } from '../../../shared/compose';
import { assertFails, load, problemsOf } from './helpers';

/** A one-service stack whose service `web` has `lines` (indented under it) after its image, from line 4 on. */
function web(...lines: string[]): string {
  return ['services:', '  web:', '    image: x', ...lines.map((l) => `    ${l}`), ''].join('\n');
}

function runtimeOf(stack: StackDeployment): RuntimeSettings {
  const s = stack.services[0];
  assert.ok(s, 'no service');
  return s.task.container.runtime;
}

const UNLIMITED = Number.MAX_SAFE_INTEGER;

/** A Docker-format profile small enough to read in a test. */
const PROFILE = JSON.stringify({
  defaultAction: 'SCMP_ACT_ERRNO',
  syscalls: [{ names: ['read', 'write', 'exit_group'], action: 'SCMP_ACT_ALLOW' }],
});
const BAD_ACTION_PROFILE = JSON.stringify({
  defaultAction: 'SCMP_ACT_ERRNO',
  syscalls: [{ names: ['read'], action: 'SCMP_ACT_FOO' }],
});

describe('runtime keys: accepted forms', () => {
  const cases: { name: string; lines: string[]; want: Partial<RuntimeSettings> }[] = [
    { name: 'none of them', lines: [], want: {} },

    { name: 'cap_add list', lines: ['cap_add: [NET_ADMIN, SYS_TIME]'], want: { capAdd: ['CAP_NET_ADMIN', 'CAP_SYS_TIME'] } },
    { name: 'cap_add ALL', lines: ['cap_add: [ALL]'], want: { capAdd: ['ALL'] } },
    { name: 'cap_add lowercase and CAP_ names', lines: ['cap_add:', '  - net_admin', '  - CAP_SYS_PTRACE', '  - cap_bpf'], want: { capAdd: ['CAP_NET_ADMIN', 'CAP_SYS_PTRACE', 'CAP_BPF'] } },
    { name: 'cap_add duplicates once', lines: ['cap_add: [NET_ADMIN, net_admin, CAP_NET_ADMIN]'], want: { capAdd: ['CAP_NET_ADMIN'] } },
    { name: 'cap_drop list', lines: ['cap_drop: [CHOWN, kill]'], want: { capDrop: ['CAP_CHOWN', 'CAP_KILL'] } },
    { name: 'cap_drop ALL with cap_add', lines: ['cap_drop: [all]', 'cap_add: [NET_BIND_SERVICE]'], want: { capDrop: ['ALL'], capAdd: ['CAP_NET_BIND_SERVICE'] } },

    { name: 'privileged true', lines: ['privileged: true'], want: { privileged: true } },
    { name: 'privileged false', lines: ['privileged: false'], want: {} },
    // YAML 1.1 spellings, quoted or not, as docker/cli casts boolean keys.
    { name: 'privileged "yes"', lines: ['privileged: "yes"'], want: { privileged: true } },
    { name: 'read_only on', lines: ['read_only: on'], want: { readOnly: true } },
    { name: 'init no', lines: ['init: no'], want: {} },

    { name: 'devices short /dev/fuse', lines: ['devices:', '  - /dev/fuse'], want: { devices: [{ pathOnHost: '/dev/fuse', pathInContainer: '/dev/fuse', permissions: 'rwm' }] } },
    { name: 'devices HOST:CONTAINER', lines: ['devices:', '  - /dev/fuse:/dev/f'], want: { devices: [{ pathOnHost: '/dev/fuse', pathInContainer: '/dev/f', permissions: 'rwm' }] } },
    { name: 'devices HOST:CONTAINER:PERMS', lines: ['devices:', '  - "/dev/fuse:/dev/f:rw"'], want: { devices: [{ pathOnHost: '/dev/fuse', pathInContainer: '/dev/f', permissions: 'rw' }] } },
    { name: 'devices HOST:PERMS', lines: ['devices:', '  - /dev/fuse:rw'], want: { devices: [{ pathOnHost: '/dev/fuse', pathInContainer: '/dev/fuse', permissions: 'rw' }] } },
    {
      name: 'devices long form',
      lines: ['devices:', '  - source: /dev/fuse', '    target: /dev/f', '    permissions: r', '  - {source: /dev/kvm}'],
      want: {
        devices: [
          { pathOnHost: '/dev/fuse', pathInContainer: '/dev/f', permissions: 'r' },
          { pathOnHost: '/dev/kvm', pathInContainer: '/dev/kvm', permissions: 'rwm' },
        ],
      },
    },

    {
      name: 'sysctls map',
      lines: ['sysctls:', '  net.core.somaxconn: 1024', '  net.ipv4.tcp_syncookies: 0', '  kernel.shmmax: "68719476736"'],
      want: { sysctls: { 'net.core.somaxconn': '1024', 'net.ipv4.tcp_syncookies': '0', 'kernel.shmmax': '68719476736' } },
    },
    {
      name: 'sysctls list',
      lines: ['sysctls:', '  - net.core.somaxconn=1024', '  - kernel.sem=250 32000 100 128', '  - fs.mqueue.msg_max=64'],
      want: { sysctls: { 'net.core.somaxconn': '1024', 'kernel.sem': '250 32000 100 128', 'fs.mqueue.msg_max': '64' } },
    },

    { name: 'ulimits single value', lines: ['ulimits:', '  nofile: 1024'], want: { ulimits: [{ name: 'nofile', soft: 1024, hard: 1024 }] } },
    { name: 'ulimits soft and hard', lines: ['ulimits:', '  nofile: {soft: 1, hard: 2}'], want: { ulimits: [{ name: 'nofile', soft: 1, hard: 2 }] } },
    { name: 'ulimits -1 is unlimited', lines: ['ulimits:', '  memlock: -1'], want: { ulimits: [{ name: 'memlock', soft: UNLIMITED, hard: UNLIMITED }] } },
    {
      name: 'ulimits unlimited hard, several names',
      lines: ['ulimits:', '  nproc: 65535', '  nofile:', '    soft: 20000', '    hard: -1'],
      want: { ulimits: [{ name: 'nproc', soft: 65535, hard: 65535 }, { name: 'nofile', soft: 20000, hard: UNLIMITED }] },
    },

    { name: 'read_only', lines: ['read_only: true'], want: { readOnly: true } },
    { name: 'init', lines: ['init: true'], want: { init: true } },

    { name: 'tmpfs string', lines: ['tmpfs: /run'], want: { tmpfs: [{ target: '/run', sizeBytes: null, mode: null, options: [] }] } },
    {
      name: 'tmpfs list',
      lines: ['tmpfs:', '  - /run', '  - /tmp'],
      want: { tmpfs: [{ target: '/run', sizeBytes: null, mode: null, options: [] }, { target: '/tmp', sizeBytes: null, mode: null, options: [] }] },
    },
    {
      name: 'tmpfs with size, mode and a flag',
      lines: ['tmpfs: /run:size=64m,mode=1770,exec'],
      want: { tmpfs: [{ target: '/run', sizeBytes: 64 * 1024 * 1024, mode: 0o1770, options: ['exec'] }] },
    },
    {
      name: 'tmpfs list with options',
      lines: ['tmpfs:', '  - "/cache:size=1k,mode=755,ro,nosuid"'],
      want: { tmpfs: [{ target: '/cache', sizeBytes: 1024, mode: 0o755, options: ['ro', 'nosuid'] }] },
    },

    { name: 'shm_size 128m', lines: ['shm_size: 128m'], want: { shmSizeBytes: 128 * 1024 * 1024 } },
    { name: 'shm_size 1gb', lines: ['shm_size: 1gb'], want: { shmSizeBytes: 1024 * 1024 * 1024 } },
    { name: 'shm_size in bytes', lines: ['shm_size: 1048576'], want: { shmSizeBytes: 1048576 } },

    { name: 'stop_signal SIGUSR1', lines: ['stop_signal: SIGUSR1'], want: { stopSignal: 'SIGUSR1' } },
    { name: 'stop_signal USR1', lines: ['stop_signal: USR1'], want: { stopSignal: 'SIGUSR1' } },
    { name: 'stop_signal lowercase', lines: ['stop_signal: sigusr1'], want: { stopSignal: 'SIGUSR1' } },
    { name: 'stop_signal 10', lines: ['stop_signal: 10'], want: { stopSignal: 'SIGUSR1' } },
    { name: 'stop_signal SIGRTMIN+3', lines: ['stop_signal: SIGRTMIN+3'], want: { stopSignal: 'SIGRTMIN+3' } },
    { name: 'stop_signal 37', lines: ['stop_signal: 37'], want: { stopSignal: 'SIGRTMIN+3' } },
    { name: 'stop_signal SIGTERM', lines: ['stop_signal: SIGTERM'], want: { stopSignal: 'SIGTERM' } },

    { name: 'security_opt no-new-privileges', lines: ['security_opt: [no-new-privileges]'], want: { noNewPrivileges: true } },
    { name: 'security_opt no-new-privileges:true', lines: ['security_opt: ["no-new-privileges:true"]'], want: { noNewPrivileges: true } },
    { name: 'security_opt no-new-privileges=true', lines: ['security_opt: ["no-new-privileges=true"]'], want: { noNewPrivileges: true } },
    { name: 'security_opt no-new-privileges=false', lines: ['security_opt: ["no-new-privileges=false"]'], want: {} },
    { name: 'security_opt seccomp=unconfined', lines: ['security_opt: ["seccomp=unconfined"]'], want: { seccomp: { mode: 'unconfined', profile: null } } },
    { name: 'security_opt seccomp:unconfined', lines: ['security_opt: ["seccomp:unconfined"]'], want: { seccomp: { mode: 'unconfined', profile: null } } },
    { name: 'security_opt apparmor=unconfined is a no-op', lines: ['security_opt: ["apparmor=unconfined"]'], want: {} },
    { name: 'security_opt label=disable is a no-op', lines: ['security_opt: ["label=disable"]'], want: {} },
    {
      name: 'security_opt several',
      lines: ['security_opt:', '  - no-new-privileges', '  - seccomp=unconfined', '  - apparmor=unconfined'],
      want: { noNewPrivileges: true, seccomp: { mode: 'unconfined', profile: null } },
    },

    { name: 'oom_score_adj', lines: ['oom_score_adj: 500'], want: { oomScoreAdj: 500 } },
    { name: 'oom_score_adj -1000', lines: ['oom_score_adj: -1000'], want: { oomScoreAdj: -1000 } },
    { name: 'oom_score_adj 1000', lines: ['oom_score_adj: 1000'], want: { oomScoreAdj: 1000 } },
    { name: 'oom_score_adj 0', lines: ['oom_score_adj: 0'], want: { oomScoreAdj: 0 } },

    { name: 'userns_mode host', lines: ['userns_mode: host'], want: { usernsMode: 'host' } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const stack = load(web(...c.lines));
      assert.deepEqual(runtimeOf(stack), { ...defaultRuntimeSettings(), ...c.want });
      assert.deepEqual(stack.warnings, []);
    });
  }

  it('a key left empty keeps its default', () => {
    assert.deepEqual(runtimeOf(load(web('privileged:', 'cap_add:', 'tmpfs:'))), defaultRuntimeSettings());
  });

  it('none of the keys is reported as ignored', () => {
    const stack = load(
      web(
        'cap_add: [NET_ADMIN]',
        'cap_drop: [CHOWN]',
        'privileged: false',
        'devices: [/dev/fuse]',
        'sysctls: {net.core.somaxconn: 1024}',
        'ulimits: {nofile: 1024}',
        'read_only: true',
        'init: true',
        'tmpfs: /run',
        'shm_size: 64m',
        'stop_signal: SIGINT',
        'security_opt: [no-new-privileges]',
        'oom_score_adj: 100',
        'userns_mode: host',
        'container_name: web-1',
      ),
    );
    assert.deepEqual(stack.warnings, ['Ignoring unsupported options: container_name']);
  });
});

describe('runtime keys: security_opt seccomp=PROFILE read beside the stack file', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'runtime-keys-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));
  mkdirSync(join(tmp, 'seccomp'));
  writeFileSync(join(tmp, 'profile.json'), PROFILE);
  writeFileSync(join(tmp, 'seccomp', 'strict.json'), PROFILE);
  writeFileSync(join(tmp, 'bad.json'), BAD_ACTION_PROFILE);

  const cases: { name: string; opt: string }[] = [
    { name: './profile.json', opt: 'seccomp=./profile.json' },
    { name: 'profile.json', opt: 'seccomp=profile.json' },
    { name: 'a sub-folder', opt: 'seccomp=seccomp/strict.json' },
    { name: 'an absolute path', opt: `seccomp=${join(tmp, 'profile.json')}` },
  ];
  for (const c of cases) {
    it(`loadStackFile: ${c.name}`, () => {
      const file = join(tmp, 'stack.yml');
      writeFileSync(file, web('security_opt:', `  - "${c.opt}"`));
      const stack = loadStackFile(file, { name: 'test', env: {} });
      assert.deepEqual(runtimeOf(stack).seccomp, { mode: 'custom', profile: PROFILE });
    });
  }

  it('loadStackText reads from its dir, not the process’s', () => {
    const r = runtimeOf(load(web('security_opt: ["seccomp=./profile.json"]'), { dir: tmp }));
    assert.deepEqual(r.seccomp, { mode: 'custom', profile: PROFILE });
  });

  it('a missing profile fails, naming the option and its line', () => {
    assertFails(web('security_opt:', '  - no-new-privileges', '  - seccomp=./nope.json'), /^services\.web\.security_opt\[1\]: cannot read seccomp profile \.\/nope\.json \(line 6\)$/, 6, { dir: tmp });
  });

  it('a profile with an unknown action fails, naming the profile field', () => {
    assertFails(
      web('security_opt: ["seccomp=./bad.json"]'),
      /^services\.web\.security_opt\[0\]: seccomp profile \.\/bad\.json: syscalls\[0\]\.action: unknown action "SCMP_ACT_FOO" \(line 4\)$/,
      4,
      { dir: tmp },
    );
  });

  it('a profile that is not JSON fails', () => {
    writeFileSync(join(tmp, 'notjson.json'), '{"defaultAction": ');
    assertFails(web('security_opt: ["seccomp=notjson.json"]'), /^services\.web\.security_opt\[0\]: seccomp profile notjson\.json: invalid JSON: /, 4, { dir: tmp });
  });
});

describe('runtime keys: errors name the key path and the line, and nothing loads', () => {
  const cases: { name: string; lines: string[]; pattern: RegExp; line: number }[] = [
    { name: 'kernel.core_pattern (map)', lines: ['sysctls:', '  net.core.somaxconn: 1024', '  kernel.core_pattern: "|/bin/sh"'], pattern: /^services\.web\.sysctls\.kernel\.core_pattern: sysctl "kernel\.core_pattern" is not allowed: only namespaced ones/, line: 6 },
    { name: 'vm.swappiness (list)', lines: ['sysctls:', '  - vm.swappiness=10'], pattern: /^services\.web\.sysctls\[0\]: sysctl "vm\.swappiness" is not allowed/, line: 5 },
    { name: 'a sysctl list entry without =', lines: ['sysctls: [net.core.somaxconn]'], pattern: /^services\.web\.sysctls\[0\]: must be "name=value", got "net\.core\.somaxconn"/, line: 4 },

    { name: 'unknown capability in cap_add', lines: ['cap_add:', '  - NET_ADMIN', '  - NET_ADMINN'], pattern: /^services\.web\.cap_add\[1\]: unknown capability "NET_ADMINN"/, line: 6 },
    { name: 'unknown capability in cap_drop', lines: ['cap_drop: [CAP_FOO]'], pattern: /^services\.web\.cap_drop\[0\]: unknown capability "CAP_FOO"/, line: 4 },
    { name: 'a capability that is a number', lines: ['cap_add: [12]'], pattern: /^services\.web\.cap_add\[0\]: (must be a string, got 12|unknown capability "12")/, line: 4 },

    { name: 'device permissions rwx', lines: ['devices:', '  - "/dev/fuse:/dev/fuse:rwx"'], pattern: /^services\.web\.devices\[0\]: invalid permissions "rwx"/, line: 5 },
    { name: 'device permissions rwx (long form)', lines: ['devices:', '  - {source: /dev/fuse, permissions: rwx}'], pattern: /^services\.web\.devices\[0\]: invalid permissions "rwx"/, line: 5 },
    { name: 'device permissions repeated', lines: ['devices: ["/dev/fuse:/dev/fuse:rr"]'], pattern: /^services\.web\.devices\[0\]: invalid permissions "rr"/, line: 4 },
    { name: 'relative device path', lines: ['devices:', '  - dev/fuse'], pattern: /^services\.web\.devices\[0\]: the host device must be an absolute path, got "dev\/fuse"/, line: 5 },
    { name: 'relative container path', lines: ['devices:', '  - /dev/fuse:fuse'], pattern: /^services\.web\.devices\[0\]: the container path must be absolute, got "fuse"/, line: 5 },
    { name: 'too many colons', lines: ['devices: ["/dev/a:/dev/b:rw:x"]'], pattern: /^services\.web\.devices\[0\]: invalid device "\/dev\/a:\/dev\/b:rw:x": too many ":"/, line: 4 },
    { name: 'unknown long-form device key', lines: ['devices:', '  - source: /dev/fuse', '    mode: rw'], pattern: /^services\.web\.devices\[0\]\.mode: unknown key/, line: 6 },

    { name: 'unknown ulimit', lines: ['ulimits:', '  nofiles: 1024'], pattern: /^services\.web\.ulimits\.nofiles: unknown ulimit "nofiles"/, line: 5 },
    { name: 'soft above hard', lines: ['ulimits:', '  nofile:', '    soft: 2048', '    hard: 1024'], pattern: /^services\.web\.ulimits\.nofile: soft limit 2048 is above the hard limit 1024/, line: 5 },
    { name: 'unlimited soft above a hard limit', lines: ['ulimits:', '  nofile: {soft: -1, hard: 1024}'], pattern: /^services\.web\.ulimits\.nofile: soft limit -1 is above the hard limit 1024/, line: 5 },
    { name: 'ulimit without hard', lines: ['ulimits:', '  nofile: {soft: 1}'], pattern: /^services\.web\.ulimits\.nofile: needs both soft and hard/, line: 5 },
    { name: 'ulimit not a number', lines: ['ulimits:', '  nofile: lots'], pattern: /^services\.web\.ulimits\.nofile: must be a non-negative integer \(or -1 for unlimited\), got "lots"/, line: 5 },
    { name: 'ulimits a list', lines: ['ulimits: [nofile=1024]'], pattern: /^services\.web\.ulimits: must be a mapping of limit names to values, got a list/, line: 4 },

    { name: 'oom_score_adj 2000', lines: ['oom_score_adj: 2000'], pattern: /^services\.web\.oom_score_adj: must be an integer from -1000 to 1000, got 2000/, line: 4 },
    { name: 'oom_score_adj -1001', lines: ['oom_score_adj: -1001'], pattern: /^services\.web\.oom_score_adj: must be an integer from -1000 to 1000, got -1001/, line: 4 },
    { name: 'oom_score_adj 1.5', lines: ['oom_score_adj: 1.5'], pattern: /^services\.web\.oom_score_adj: must be an integer/, line: 4 },

    { name: 'stop_signal SIGFOO', lines: ['stop_signal: SIGFOO'], pattern: /^services\.web\.stop_signal: unknown signal "SIGFOO"/, line: 4 },
    { name: 'stop_signal 0', lines: ['stop_signal: 0'], pattern: /^services\.web\.stop_signal: unknown signal 0/, line: 4 },
    { name: 'stop_signal 65', lines: ['stop_signal: 65'], pattern: /^services\.web\.stop_signal: unknown signal 65/, line: 4 },
    { name: 'stop_signal SIGRTMIN+31', lines: ['stop_signal: SIGRTMIN+31'], pattern: /^services\.web\.stop_signal: unknown signal "SIGRTMIN\+31"/, line: 4 },

    { name: 'security_opt label=type:foo', lines: ['security_opt:', '  - "label=type:foo"'], pattern: /^services\.web\.security_opt\[0\]: unsupported security option "label=type:foo"/, line: 5 },
    { name: 'security_opt apparmor=profile', lines: ['security_opt: ["apparmor=docker-default"]'], pattern: /^services\.web\.security_opt\[0\]: unsupported security option "apparmor=docker-default"/, line: 4 },
    { name: 'security_opt no-new-privileges=maybe', lines: ['security_opt: ["no-new-privileges=maybe"]'], pattern: /^services\.web\.security_opt\[0\]: invalid no-new-privileges value "maybe"/, line: 4 },
    { name: 'security_opt seccomp=', lines: ['security_opt: ["seccomp="]'], pattern: /^services\.web\.security_opt\[0\]: unsupported security option "seccomp="/, line: 4 },

    { name: 'tmpfs relative target', lines: ['tmpfs: run'], pattern: /^services\.web\.tmpfs: the tmpfs target must be an absolute path, got "run"/, line: 4 },
    { name: 'tmpfs target with ..', lines: ['tmpfs:', '  - /run', '  - /run/../etc'], pattern: /^services\.web\.tmpfs\[1\]: the tmpfs target must be an absolute path, got "\/run\/\.\.\/etc"/, line: 6 },
    { name: 'tmpfs unknown option', lines: ['tmpfs: ["/run:size=1m,bogus"]'], pattern: /^services\.web\.tmpfs\[0\]: invalid tmpfs option "bogus"/, line: 4 },
    { name: 'tmpfs bad size', lines: ['tmpfs: "/run:size=lots"'], pattern: /^services\.web\.tmpfs: invalid tmpfs option "size=lots"/, line: 4 },
    { name: 'tmpfs bad mode', lines: ['tmpfs: "/run:mode=999"'], pattern: /^services\.web\.tmpfs: invalid tmpfs option "mode=999"/, line: 4 },

    { name: 'shm_size not a size', lines: ['shm_size: big'], pattern: /^services\.web\.shm_size: must be a size such as 64m, got "big"/, line: 4 },
    { name: 'shm_size 0', lines: ['shm_size: 0'], pattern: /^services\.web\.shm_size: must be a size such as 64m, got 0/, line: 4 },

    { name: 'userns_mode private', lines: ['userns_mode: private'], pattern: /^services\.web\.userns_mode: must be "host", got "private"/, line: 4 },
    { name: 'privileged "sure"', lines: ['privileged: "sure"'], pattern: /^services\.web\.privileged: must be true or false, got "sure"/, line: 4 },
    { name: 'read_only 1', lines: ['read_only: 1'], pattern: /^services\.web\.read_only: must be true or false, got 1/, line: 4 },
    { name: 'init a list', lines: ['init: [true]'], pattern: /^services\.web\.init: must be true or false, got a list/, line: 4 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const text = web(...c.lines);
      assertFails(text, new RegExp(`${c.pattern.source}.* \\(line ${c.line}\\)$`), c.line);
      // The one problem, not follow-ups from it.
      assert.equal(problemsOf(text).length, 1, problemsOf(text).join('\n'));
    });
  }

  it('a ulimit below -1 names the soft limit', () => {
    const problems = problemsOf(web('ulimits:', '  nofile: {soft: -2, hard: 1}'));
    assert.deepEqual(problems, ['services.web.ulimits.nofile.soft: must be a non-negative integer (or -1 for unlimited), got -2 (line 5)']);
  });

  it('every problem of the runtime keys is reported at once, in file order', () => {
    const text = web('cap_add: [NOPE]', 'sysctls: {vm.swappiness: 10}', 'oom_score_adj: 2000', 'userns_mode: private');
    assert.deepEqual(
      problemsOf(text).map((l) => l.replace(/: .*( \(line \d+\))$/, '$1')),
      ['services.web.cap_add[0] (line 4)', 'services.web.sysctls.vm.swappiness (line 5)', 'services.web.oom_score_adj (line 6)', 'services.web.userns_mode (line 7)'],
    );
  });
});
