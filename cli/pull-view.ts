/**
 * What `image pull` and `image push` show while the manager works: on a TTY one bar per layer,
 * as `docker pull` draws them (cli-progress draws and redraws them: a library
 * made for multi-line terminal bars, loaded only here); otherwise one plain line
 * per layer event worth a line (no Downloading ticks), and nothing with --quiet.
 */
import type { PullProgress } from '../shared/api-types';

export type PullLine = PullProgress | { result: import('../shared/api-types').ImageView } | { error: { code: string; message: string } };

/** Statuses that only move a bar (not worth a line without one), and those that end it. */
const TICKS = new Set(['Downloading', 'Pushing']);
const DONE = new Set(['Pull complete', 'Already exists', 'Pushed', 'Layer already exists']);

type Bars = import('cli-progress').MultiBar;
type Bar = import('cli-progress').SingleBar;

export class PullView {
  private bars: Bars | null = null;
  private readonly byId = new Map<string, Bar>();
  private readonly tty: boolean;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly options: { quiet: boolean },
  ) {
    this.tty = out.isTTY === true && process.env['TERM'] !== 'dumb';
  }

  update(p: PullProgress): void {
    if (this.options.quiet) return;
    if (!this.tty) {
      if (!TICKS.has(p.status)) this.out.write(p.id ? `${p.id}: ${p.status}\n` : `${p.status}\n`);
      return;
    }
    if (!p.id) {
      if (this.bars) this.bars.log(`${p.status}\n`);
      else this.out.write(`${p.status}\n`);
      return;
    }
    const bars = this.multi();
    let bar = this.byId.get(p.id);
    const total = p.total ?? 1;
    const value = p.current ?? (DONE.has(p.status) ? total : 0);
    const payload = { id: p.id, status: p.status.padEnd(16), size: p.total !== undefined ? `${mb(value)}/${mb(p.total)}` : '' };
    if (!bar) {
      bar = bars.create(total, value, payload);
      this.byId.set(p.id, bar);
      return;
    }
    if (p.total !== undefined) bar.setTotal(p.total);
    bar.update(DONE.has(p.status) ? bar.getTotal() : value, payload);
  }

  end(): void {
    this.bars?.stop();
    this.bars = null;
  }

  private multi(): Bars {
    if (!this.bars) {
      const { MultiBar } = require('cli-progress') as typeof import('cli-progress');
      this.bars = new MultiBar({
        stream: this.out,
        format: '{id}: {status} [{bar}] {size}',
        barsize: 40,
        barCompleteChar: '=',
        barIncompleteChar: ' ',
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        autopadding: true,
      });
    }
    return this.bars;
  }
}

function mb(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}MB` : `${(n / 1e3).toFixed(1)}kB`;
}
