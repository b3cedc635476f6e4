/**
 * The dispatcher's part of `volume create|rm|prune|ls`: it hands the requests for nodes whose
 * sessions it holds to their agents (once per session), and records what agents report: a node's
 * volume list (Keys.nodeVolume) and a request's answer (VolumeRequest.result).
 */
import { Keys } from '../../shared/keys';
import type { Logger } from '../../shared/log';
import type { WireVolumeCommand, WireVolumeReport } from '../../shared/proto/codec';
import type { NodeVolumes, VolumeInfo, VolumeRequest } from '../../shared/types';
import { SCHEMA_VERSION } from '../../shared/types';
import type { Store } from '../store/store';
import type { StoreView } from '../store/view';

export function commandOf(r: VolumeRequest): WireVolumeCommand {
  return { id: r.id, op: r.op, name: r.name, driver: r.driver, options: r.options, labels: r.labels, force: r.force, all: r.all };
}

/** The volume list of a report, or null when it carries none or cannot be read. */
export function volumesOf(report: WireVolumeReport): VolumeInfo[] | null {
  if (!report.volumes_json) return null;
  try {
    const v: unknown = JSON.parse(report.volumes_json);
    return Array.isArray(v) ? (v as VolumeInfo[]) : null;
  } catch {
    return null;
  }
}

export class VolumeRelay {
  /** node id → request ids handed to its current session. */
  private readonly forwarded = new Map<string, Set<string>>();
  private readonly lastList = new Map<string, string>();

  constructor(
    private readonly store: Store,
    private readonly view: StoreView,
    private readonly log: Logger,
  ) {}

  /** A new session: requests waiting for that node go to it (again). */
  reset(nodeId: string): void {
    this.forwarded.delete(nodeId);
    this.lastList.delete(nodeId);
  }

  /** Sends each unanswered request to its node, when `send` has a session for it. */
  forward(send: (nodeId: string, cmd: WireVolumeCommand) => boolean): void {
    for (const { value: r } of this.view.list<VolumeRequest>(Keys.volumeRequests)) {
      if (r.result !== null) continue;
      const done = this.forwarded.get(r.nodeId) ?? new Set<string>();
      if (done.has(r.id)) continue;
      if (send(r.nodeId, commandOf(r))) {
        done.add(r.id);
        this.forwarded.set(r.nodeId, done);
      }
    }
  }

  /** What an agent reported: its volumes, and the answer to a request. */
  async record(nodeId: string, report: WireVolumeReport): Promise<void> {
    const volumes = volumesOf(report);
    try {
      if (volumes !== null) {
        const text = JSON.stringify(volumes);
        if (this.lastList.get(nodeId) !== text) {
          const rec: NodeVolumes = { v: SCHEMA_VERSION, nodeId, volumes, updatedAt: new Date().toISOString() };
          await this.store.commit([{ put: Keys.nodeVolume(nodeId), value: rec, guard: null }]);
          this.lastList.set(nodeId, text);
        }
      }
      if (report.request_id) {
        const key = Keys.volumeRequest(report.request_id);
        const cur = await this.store.get<VolumeRequest>(key);
        // The API gave up (and deleted it), or another node answered for it: nothing to record.
        if (!cur || cur.value.nodeId !== nodeId || cur.value.result !== null) return;
        const result = { error: report.error || null, removed: [...(report.removed ?? [])] };
        await this.store.commit([{ put: key, value: { ...cur.value, result }, guard: { modRevision: cur.modRevision } }]);
        this.forwarded.get(nodeId)?.delete(report.request_id);
      }
    } catch (e) {
      this.log.warn(`recording the volumes of node ${nodeId.slice(0, 12)}: ${(e as Error).message}`);
    }
  }
}
