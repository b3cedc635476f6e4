/**
 * The agent process: one per host. Holds a session to a manager and turns
 * the tasks assigned to this node into containers.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLogger } from '../shared/log';
import { flagString, parseFlags } from '../shared/flags';
import { managerFetch } from '../shared/pki/https';
import { Session } from './session/session';
import { IdentityError, loadNodeIdentity, needsRenewal, RenewalSchedule, renewCertificates } from './session/certificates';
import { Executor } from './executor/executor';
import { ContainerController } from './executor/container-controller';
import { createRuntime, type UsernsRemap } from './runtime';
import { ImageCache } from './image';
import { ImageGc } from './image/gc';
import { cleanup } from './cleanup';
import { NodeNetworks } from './network/node-networks';
import { HeldBlobs } from './session/held-blobs';
import { VolumeReporter } from './session/volume-reports';
import { TaskStreams } from './session/task-streams';
import { execStream } from './executor/exec-stream';
import { VolumeStore } from './volumes/store';
import { hostVolumeSys } from './volumes/sys';
import { TaskFiles } from './executor/task-files';
import { tasksWithMounts, type TaskStorage } from './executor/task-mounts';
import { hostArchitecture } from '../shared/oci';
import { DockerSocketProxy } from './docker-proxy';

const log = createLogger('agent');

/** `--label k=v,k2=v2`: the node's labels, reported when it registers. */
function parseLabels(text: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(',').filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`invalid label ${part}: expected key=value`);
    out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

/** `--generic-resource gpu=2,fpga=1`: generic resources this node offers to reservations. */
function parseGenericResources(text: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [kind, value] of Object.entries(parseLabels(text))) {
    const n = Number(value);
    if (!/^[a-zA-Z0-9_.-]+$/.test(kind) || !Number.isSafeInteger(n) || n <= 0) throw new Error(`invalid generic resource ${kind}=${value}: expected KIND=COUNT`);
    out[kind] = n;
  }
  return out;
}


/** Link names of this agent start with this (several agents may share a kernel in tests). */
function linkPrefix(id: string): string {
  return `t${id.replace(/[^a-z0-9]/g, '').slice(0, 3)}`;
}

/** The node id as `tsswarm init`/`join` recorded it (it is also the certificate's CN). */
function recordedNodeId(dir: string): string {
  return fs.readFileSync(path.join(dir, 'node-id'), 'utf8').trim();
}

export interface SessionStatus {
  state: 'connected' | 'rejected';
  nodeId: string;
  manager: string | null;
  reason: string | null;
}

/** Replaces `file` with `value` as JSON, so a reader (the CLI, the supervisor, a restart) never sees half of it. */
function replaceJson(file: string, value: unknown): void {
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(value));
  fs.renameSync(`${file}.tmp`, file);
}

/** What `tsswarm join` waits for: the first session, or the manager's refusal. */
function writeSessionStatus(dir: string, status: SessionStatus): void {
  replaceJson(path.join(dir, 'session.json'), status);
}

/** The managers last heard of, kept so a restarted agent can fail over beyond its --manager list. */
function readManagers(dir: string): string[] {
  try {
    const v = JSON.parse(fs.readFileSync(path.join(dir, 'managers.json'), 'utf8')) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** `--userns-remap UID:GID:SIZE` (the supervisor resolves the node's user to its subordinate ranges). */
function parseUsernsRemap(v: string | null): UsernsRemap | null {
  if (v === null) return null;
  const m = /^(\d+):(\d+):(\d+)$/.exec(v);
  if (!m) throw new Error(`--userns-remap ${v}: expected UID:GID:SIZE`);
  return { uid: Number(m[1]), gid: Number(m[2]), size: Number(m[3]) };
}

/** Tells the supervisor to apply <data-root>/role-change.json. */
const EXIT_ROLE_CHANGE = 79;

async function main(): Promise<void> {
  const args = parseFlags(process.argv.slice(2), ['data-root', 'manager', 'advertise-addr', 'hostname', 'cgroup-parent', 'role', 'label', 'generic-resource', 'userns-remap', 'docker-socket'], ['cleanup']);
  const dataRoot = flagString(args, 'data-root') ?? '/var/lib/tsswarm';
  const managers = (flagString(args, 'manager') ?? '127.0.0.1:4242').split(',');
  const dir = path.join(dataRoot, 'agent');
  const logsDir = path.join(dir, 'logs');
  fs.mkdirSync(logsDir, { recursive: true });
  const cgroupParent = flagString(args, 'cgroup-parent') ?? 'tsswarm';
  const usernsRemap = parseUsernsRemap(flagString(args, 'userns-remap'));
  const runtime = createRuntime({ root: path.join(dir, 'containers'), cgroupParent, ...(usernsRemap === null ? {} : { usernsRemap }) });
  const hostname = flagString(args, 'hostname') ?? os.hostname();
  const heldBlobs = new HeldBlobs();
  const volumeSys = hostVolumeSys();
  // Volumes, and each task's tmpfs of secrets and configs (only empty mount points are on disk).
  const storage: TaskStorage = {
    volumes: new VolumeStore({ root: path.join(dir, 'volumes'), hostname, sys: volumeSys }),
    files: new TaskFiles(path.join(dir, 'task-files'), volumeSys),
    blobs: heldBlobs,
    sys: volumeSys,
  };
  if (args.flags.get('cleanup') === true) {
    const failed = await cleanup(runtime, cgroupParent, storage);
    const idFile = path.join(dir, 'node-id');
    if (fs.existsSync(idFile)) {
      const nets = new NodeNetworks({ underlayAddr: '127.0.0.1', netnsDir: path.join(dir, 'netns'), prefix: linkPrefix(recordedNodeId(dir)) }, log.child('network'));
      await nets.destroy().catch((e: Error) => process.stderr.write(`error: removing networks: ${e.message}\n`));
    }
    process.exit(failed ? 1 : 0);
  }
  // Who this node is, is what its certificate says.
  let identity;
  try {
    identity = loadNodeIdentity(dataRoot);
  } catch (e) {
    if (!(e instanceof IdentityError)) throw e;
    log.error(e.message);
    process.exit(78);
  }
  const id = identity.nodeId;
  fs.writeFileSync(path.join(dir, 'node-id'), `${id}\n`);
  identity.tls.watchFiles(identity.files);
  const isManagerHost = flagString(args, 'role') === 'manager';
  const networks = new NodeNetworks(
    { underlayAddr: flagString(args, 'advertise-addr') ?? '127.0.0.1', netnsDir: path.join(dir, 'netns'), prefix: linkPrefix(id) },
    log.child('network'),
  );
  let registryUrl: string | null = null;
  const images = new ImageCache({ root: path.join(dir, 'images'), registryUrl: () => registryUrl, fetch: managerFetch(identity.tls) });

  let session: Session | null = null;
  const node = { id, hostname, platform: { os: 'linux', architecture: hostArchitecture() } };
  /** The CA digests and certificate last checked against each other (onCa). */
  let lastCa = '';
  const executor = new Executor(
    (task) => new ContainerController(task, runtime, images, logsDir, networks, { node, storage }),
    (u) => session?.report(u),
    log.child('executor'),
    // A task whose prepare made mounts but no container (the agent stopped meanwhile) is cleaned up too.
    async () => [...new Set([...(await runtime.list()), ...(await tasksWithMounts(storage))])],
    () => void imageGc.check(),
  );
  const taskStreams = new TaskStreams(
    identity.tls,
    {
      logs: { logsDir, ended: async (taskId) => executor.taskEnded(taskId) },
      exec: (req, ch) => execStream(runtime, req, ch),
    },
    log.child('streams'),
  );
  const imageGc = new ImageGc(images, () => executor.imageRefs(), log.child('images'));
  const volumeReports = new VolumeReporter(storage.volumes, (r) => session?.reportVolumes(r) ?? false, log.child('volumes'), () => images.prune(executor.imageRefs()));
  session = new Session(
    managers,
    {
      nodeId: id,
      hostname,
      addr: flagString(args, 'advertise-addr') ?? '127.0.0.1',
      nanoCpus: os.cpus().length * 1e9,
      memoryBytes: os.totalmem(),
      labels: parseLabels(flagString(args, 'label')),
      role: isManagerHost ? 'manager' : 'worker',
      platform: node.platform,
      genericResources: parseGenericResources(flagString(args, 'generic-resource')),
    },
    {
      onManagers: (list) => replaceJson(path.join(dir, 'managers.json'), list),
      onRoleChange: (change) => {
        // A certificate for the new role first (a manager also needs its etcd member's); then the
        // host's supervisor (cli/init/supervisor.ts) takes it from here: it starts or stops the
        // manager and etcd member and starts this agent again in its new role. Containers keep running.
        renewal.stop();
        void (async () => {
          for (let i = 0; ; i++) {
            try {
              await renewCertificates(currentManagers(), identity, change.role === 'manager', log.child('certs'));
              break;
            } catch (e) {
              log.warn(`${(e as Error).message}; trying again`);
              await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** i)));
            }
          }
          replaceJson(path.join(dataRoot, 'role-change.json'), change);
          executor.detachAll();
          void networks.close();
          setTimeout(() => process.exit(EXIT_ROLE_CHANGE), 50);
        })();
      },
      onWelcome: (url, manager) => {
        registryUrl = url;
        volumeReports.resend();
        writeSessionStatus(dir, { state: 'connected', nodeId: id, manager, reason: null });
      },
      onRejected: (reason) => {
        writeSessionStatus(dir, { state: 'rejected', nodeId: id, manager: null, reason });
        // Not (or no longer) part of the cluster: nothing here is anyone's to run. Remove what this
        // data root holds; exit status 78 (EX_CONFIG) tells the supervisor not to restart us.
        executor.detachAll();
        void (async () => {
          await cleanup(runtime, cgroupParent, storage).catch((e: Error) => log.error(`removing containers: ${e.message}`));
          await networks.destroy().catch((e: Error) => log.error(`removing networks: ${e.message}`));
          process.exit(78);
        })();
      },
      onAssignments: async (a) => {
        // Secrets and networks first: a new task's files need its secrets, its sandbox its network's view.
        heldBlobs.apply(a.blobs, a.removedBlobs, a.full);
        await networks.apply(a.networks, a.removedNetworks, a.ports, a.networkKeys);
        await executor.assign(a.tasks, a.removed, a.full);
      },
      replay: () => executor.replayStatus(),
      onVolumeCommand: (cmd) => void volumeReports.handle(cmd),
      onImageGcThreshold: (percent) => imageGc.setThreshold(percent),
      onTaskStream: (req) => taskStreams.handle(req),
      onCa: (signer, trust) => {
        // Heartbeats carry these twice a second; the certificates are parsed only when they change.
        const seen = `${signer} ${trust} ${identity.tls.current.cert}`;
        if (seen === lastCa) return;
        lastCa = seen;
        if (needsRenewal(identity.tls.current, signer, trust)) void renewal.renewNow();
      },
    },
    log.child('session'),
    identity.tls,
    readManagers(dir),
  );
  const currentManagers = () => [...new Set([...managers, ...readManagers(dir)])];
  const renewal = new RenewalSchedule(identity, currentManagers, () => isManagerHost, log.child('certs'));
  renewal.start();
  session.start();
  volumeReports.start();
  imageGc.start();
  // A worker's host has the Docker socket too: relayed to the manager of the session. A manager's
  // host has its manager's own.
  const dockerProxy = isManagerHost ? null : new DockerSocketProxy(identity.tls, () => registryUrl, log.child('docker-socket'));
  const extraSocket = flagString(args, 'docker-socket');
  await dockerProxy?.listen([path.join(dataRoot, 'docker.sock'), ...(extraSocket ? [extraSocket] : [])]);
  log.info(`agent ${id.slice(0, 12)} started; managers ${managers.join(', ')}`);

  const shutdown = () => {
    log.info('shutting down (containers keep running)');
    executor.detachAll();
    renewal.stop();
    volumeReports.stop();
    imageGc.stop();
    taskStreams.close();
    dockerProxy?.close();
    session?.close();
    void networks.close();
    setTimeout(() => process.exit(0), 50);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((e: Error) => {
  log.error(`fatal: ${e.stack ?? e.message}`);
  process.exit(1);
});
