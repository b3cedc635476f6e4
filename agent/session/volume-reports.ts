/**
 * The agent's side of `volume create|rm|prune|ls` (and `image prune`) across the cluster: it runs
 * the manager's volume commands on the local volume store and reports the node's volumes, after each command and
 * whenever they change (a task made or dropped one), so `volume ls` on any manager shows them.
 */
import type { Logger } from '../../shared/log';
import type { WireVolumeCommand, WireVolumeReport } from '../../shared/proto/codec';
import type { VolumeInfo } from '../../shared/types';

/** `image prune` on this node: removes the images no task uses, returns their refs (agent/image/cache.ts). */
export type ImagePrune = () => Promise<string[]>;

/** What of the volume store (agent/volumes/store.ts) the commands use. */
export interface VolumeCommands {
  list(): Promise<VolumeInfo[]>;
  create(name: string, driver: string, options: Record<string, string>, labels: Record<string, string>): Promise<unknown>;
  remove(name: string, o: { force: boolean }): Promise<void>;
  prune(o: { all: boolean }): Promise<string[]>;
}

/** How often the volume list is looked at for changes the commands did not make (tasks'). */
const POLL_MS = 2000;

export class VolumeReporter {
  private last = '';
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly volumes: VolumeCommands,
    private readonly send: (r: WireVolumeReport) => boolean,
    private readonly log: Logger,
    private readonly pruneImages: ImagePrune = async () => [],
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.reportIfChanged(), POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** A new session: the manager knows nothing yet. */
  resend(): void {
    this.last = '';
    void this.reportIfChanged();
  }

  async handle(cmd: WireVolumeCommand): Promise<void> {
    let error = '';
    let removed: string[] = [];
    try {
      if (cmd.op === 'create') await this.volumes.create(cmd.name, cmd.driver || 'local', cmd.options ?? {}, cmd.labels ?? {});
      else if (cmd.op === 'remove') await this.volumes.remove(cmd.name, { force: cmd.force === true });
      else if (cmd.op === 'prune') removed = await this.volumes.prune({ all: cmd.all === true });
      else if (cmd.op === 'image-prune') removed = await this.pruneImages();
      else error = `unknown volume command ${JSON.stringify(cmd.op)}`;
    } catch (e) {
      error = (e as Error).message;
    }
    const text = await this.listText();
    if (text !== null) this.last = text;
    this.send({ request_id: cmd.id, error, removed, volumes_json: text ?? '' });
  }

  private async reportIfChanged(): Promise<void> {
    const text = await this.listText();
    if (text === null || text === this.last) return;
    if (this.send({ request_id: '', error: '', removed: [], volumes_json: text })) this.last = text;
  }

  private async listText(): Promise<string | null> {
    try {
      return JSON.stringify(await this.volumes.list());
    } catch (e) {
      this.log.warn(`listing volumes: ${(e as Error).message}`);
      return null;
    }
  }
}
