/**
 * The `tsswarm` command. A user error prints one line `error: ...` and exits
 * 1; anything else is a bug and says so.
 */
import { isTsswarmError } from '../shared/errors';
import { flagString, parseFlags } from '../shared/flags';
import { Client, defaultHost } from './client';
import { clientTls } from './tls-options';
import { ca } from './commands/ca';
import { showUnlockKey, unlock } from './commands/unlock';
import type { CommandContext } from './context';
import { init, down, join, joinToken, update } from './commands/cluster';
import { deploy, stack } from './commands/stack';
import { service } from './commands/service';
import { events } from './commands/events';
import { execCommand } from './commands/exec';
import { SERVICE_BOOLEANS, SERVICE_REPEATABLE, SERVICE_VALUED, SHORT_ALIASES } from './service-flags';
import { node } from './commands/node';
import { image } from './commands/image';
import { login, logout } from './commands/login';
import { network } from './commands/network';
import { task } from './commands/task';
import { blobCommand } from './commands/blob';
import { volume } from './commands/volume';

const USAGE = `Usage: tsswarm [--host SOCKET|tcp://HOST:PORT [--tlsverify --tlscacert F --tlscert F --tlskey F]] COMMAND

Commands:
  init [--data-root DIR] [--advertise-addr IP] [--cert-expiry DURATION] [--autolock] [--listen-api tcp://IP:PORT]
       [--etcd-endpoints URL,... [--etcd-cacert F --etcd-cert F --etcd-key F]] [--userns-remap default|USER]
       [--label K=V]... [--generic-resource KIND=N]... [--docker-socket PATH]
  join --token TOKEN MANAGER_ADDR[:PORT] [--advertise-addr IP] [--data-root DIR] [--userns-remap default|USER]
       [--label K=V]... [--generic-resource KIND=N]... [--docker-socket PATH]
  join-token worker|manager [--rotate] [--quiet]
  ca [--rotate [--detach]] [--cert-expiry DURATION] | ca client-cert --out DIR [--expiry DURATION]
  unlock (reads the key from stdin) | unlock-key [--rotate] [--quiet]
  update [--heartbeat-period DURATION] [--heartbeat-grace DURATION] [--cert-expiry DURATION] [--task-history-limit N]
         [--registry-mirror URL]... [--insecure-registry HOST:PORT]... [--image-gc-threshold PERCENT]
  down [--data-root DIR] [--purge]
  build [-t REF]... [-f Dockerfile] [--build-arg K=V]... [--target STAGE] [--no-cache] [--push] [--network host|none] CONTEXT
  image pull [-q] REF | image push [-q] REF | image import FILE NAME[:TAG] | image ls | image inspect REF... | image tag SOURCE TARGET | image rm [-f] REF... | image save -o FILE REF...
        | image prune [-a] [-f]
  login [REGISTRY] [-u USER] [--password-stdin] | logout [REGISTRY]
  deploy [-c] STACKFILE [NAME] [--detach] [--prune] [--resolve-image always|changed|never] [--with-registry-auth]
  stack ls | stack ps NAME | stack rm NAME
  service ls | ps SERVICE | inspect SERVICE | scale SERVICE=N... | pause SERVICE... | unpause SERVICE...
  service create --name NAME [--with-registry-auth] [--replicas N|--mode global] [--env K=V] [--mount ...] [--publish ...] [--secret ...] [--config ...]
                 [--network N] [--constraint ...] [--health-cmd ...] [--restart-condition ...] [--update-parallelism N] ... IMAGE [CMD...]
  service update [--image I] [--env-add K=V] [--env-rm K] [--replicas N] [--force] [--rollback] [--update-* ...] ... SERVICE
  service rollback SERVICE | service rm SERVICE...
  service logs [-f] [--tail N] [--since TIME] [--until TIME] [-t|--timestamps] [--raw] [--no-task-ids] [--no-trunc] [--no-resolve] SERVICE|TASK
  service rebalance SERVICE... | --all [--detach]     # moves replicas onto emptier nodes, start-first
  exec [-i] [-t] [-u USER] [-w DIR] [-e K=V]... TASK [--] CMD [ARG...]
  events [--since TIME] [--until TIME] [--filter type=service|task|node|network|secret|config] [--filter name=N]...
  task inspect TASK... | task pause TASK... | task unpause TASK...
  node ls | node inspect NODE | node rm [--force] NODE...
  node update [--availability active|pause|drain] [--label-add K=V]... [--label-rm K]... NODE
  node promote NODE... | node demote NODE...
  volume create [-d DRIVER] [--opt K=V]... [--label K=V]... [--node NODE] NAME | volume ls | inspect NAME... | rm [--force] [--node NODE] NAME... | prune [--all]
  secret create [--label K=V]... NAME FILE|- | secret ls | inspect SECRET... | rm SECRET...
  config create [--label K=V]... NAME FILE|- | config ls | inspect CONFIG... | rm CONFIG...
  network create [-d overlay] [--subnet CIDR] [--attachable] [--opt|-o encrypted] NAME | network ls | inspect NAME | rm NAME
Listing commands take --format json.`;

const VALUED = [...SERVICE_VALUED, 'task-history-limit', 'image-gc-threshold', 'registry-mirror', 'insecure-registry', 'username', 'resolve-image', 'output', 'filter', 'since', 'until', 'userns-remap', 'host', 'H', 'format', 'data-root', 'advertise-addr', 'etcd-endpoints', 'compose-file', 'c', 'timeout', 'cgroup-parent', 'hostname', 'token', 'driver', 'd', 'subnet', 'availability', 'label-add', 'label-rm', 'heartbeat-period', 'heartbeat-grace', 'cert-expiry', 'listen-api', 'etcd-cacert', 'etcd-cert', 'etcd-key', 'tlscacert', 'tlscert', 'tlskey', 'out', 'expiry', 'opt', 'o', 'label', 'generic-resource', 'node', 'tail', 'n', 'docker-socket'];
const REPEATABLE = [...SERVICE_REPEATABLE, 'registry-mirror', 'insecure-registry', 'filter', 'label-add', 'label-rm', 'opt', 'o', 'label', 'generic-resource'];
const BOOLEANS = [...SERVICE_BOOLEANS, 'password-stdin', 'no-trunc', 'autolock', 'rotate', 'tlsverify', 'detach', 'prune', 'attachable', 'purge', 'all', 'a', 'help', 'h', 'quiet', 'q', 'force', 'f', 'follow', 'timestamps', 'raw', 'no-task-ids', 'no-resolve', 'interactive', 'i'];

/** `build` takes Docker's flags, whose -t and -f have values (elsewhere they are --tty and --force). */
const BUILD_VALUED = [...VALUED, 'tag', 't', 'file', 'f', 'build-arg', 'target', 'network'];
const BUILD_REPEATABLE = [...REPEATABLE, 'tag', 't', 'build-arg'];
const BUILD_BOOLEANS = [...BOOLEANS.filter((b) => b !== 't' && b !== 'f'), 'no-cache', 'push'];

/** The command word: the first argument that is neither a flag nor a global flag's value. */
function commandWord(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-')) return a;
    if (['--host', '-H', '--tlscacert', '--tlscert', '--tlskey', '--format'].includes(a)) i++;
  }
  return undefined;
}

async function run(argv: string[]): Promise<void> {
  // `service create [OPTIONS] IMAGE [COMMAND [ARG...]]`: what follows the image is the container's.
  // `exec [OPTIONS] TASK COMMAND [ARG...]`: what follows the task is the command's.
  const building = commandWord(argv) === 'build';
  const args = building
    ? parseFlags(argv, BUILD_VALUED, BUILD_BOOLEANS, BUILD_REPEATABLE)
    : parseFlags(argv, VALUED, BOOLEANS, REPEATABLE, (pos) => (pos.length === 3 && pos[0] === 'service' && pos[1] === 'create') || (pos.length === 2 && pos[0] === 'exec'), SHORT_ALIASES);
  if (args.flags.get('a') === true) args.flags.set('all', true);
  const [cmd, ...rest] = args.positionals;
  if (!cmd || args.flags.get('help') === true || args.flags.get('h') === true) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const format = flagString(args, 'format');
  if (format !== null && format !== 'json' && format !== 'table') throw new (await import('../shared/errors')).InvalidArgumentError(`unknown format ${format}: use json or table`);
  const host = flagString(args, 'host') ?? flagString(args, 'H') ?? defaultHost();
  const ctx: CommandContext = {
    client: new Client(host, clientTls(args, host)),
    args: { flags: args.flags, positionals: rest },
    json: format === 'json',
  };
  switch (cmd) {
    case 'init':
      return init(ctx.args);
    case 'down':
      return down(ctx.args);
    case 'join':
      return join(ctx.args);
    case 'join-token':
      return joinToken(ctx);
    case 'update':
      return update(ctx);
    case 'deploy':
      return deploy(ctx);
    case 'build':
      // The builder (and the runtime it drives) is loaded only for this command.
      return (await import('./commands/build')).build(ctx);
    case 'stack':
      return stack(ctx);
    case 'service':
      return service(ctx);
    case 'events':
      return events(ctx);
    case 'exec':
      return execCommand(ctx);
    case 'node':
      return node(ctx);
    case 'image':
      return image(ctx);
    case 'login':
      return login(ctx);
    case 'logout':
      return logout(ctx);
    case 'network':
      return network(ctx);
    case 'task':
      return task(ctx);
    case 'volume':
      return volume(ctx);
    case 'secret':
      return blobCommand('secret')(ctx);
    case 'config':
      return blobCommand('config')(ctx);
    case 'ca':
      return ca(ctx);
    case 'unlock':
      return unlock(ctx);
    case 'unlock-key':
      return showUnlockKey(ctx);
    default:
      throw new (await import('../shared/errors')).InvalidArgumentError(`unknown command ${cmd} (see tsswarm --help)`);
  }
}

/**
 * Exits once what was written to stdout and stderr has gone out: a pipe's writes can still be
 * queued (a reader slower than `service logs`), and process.exit would drop them.
 */
function exitFlushed(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

// A reader that went away (`service logs -f | head`) ends the command quietly, as in coreutils;
// a following command would otherwise die of EPIPE with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw e;
  });
}

run(process.argv.slice(2)).then(
  // `exec` sets the exit code of the command it ran.
  () => exitFlushed(typeof process.exitCode === 'number' ? process.exitCode : 0),
  (e: unknown) => {
    if (isTsswarmError(e)) {
      // One line, whatever the message holds (compose reports every problem it found).
      process.stderr.write(`error: ${e.message.trim().split('\n').join('; ')}\n`);
    } else {
      process.stderr.write(`error: internal error (this is a bug): ${e instanceof Error ? e.message : String(e)}\n`);
      if (process.env.TSSWARM_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    }
    exitFlushed(1);
  },
);
