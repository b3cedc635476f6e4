/** A NetSys that records what would run and answers queries from canned output. */
import type { ExecResult, NetSys } from '../../../../agent/network/sys';

export interface FakeCall {
  argv: string[];
  input: string;
}

export class FakeNetSys implements NetSys {
  readonly calls: FakeCall[] = [];
  readonly native: string[] = [];
  /** Keyed by argv joined with spaces; default: exit 0, empty output. */
  readonly answers = new Map<string, ExecResult>();
  /** stderr for batch runs, by argv[0] (`ip`, `bridge`). */
  batchStderr = new Map<string, string>();

  async exec(argv: readonly string[], input: string): Promise<ExecResult> {
    this.calls.push({ argv: [...argv], input });
    const canned = this.answers.get(argv.join(' '));
    if (canned !== undefined) return canned;
    const stderr = argv.includes('-batch') ? (this.batchStderr.get(argv[0] ?? '') ?? '') : '';
    return { code: stderr === '' ? 0 : 1, stdout: '', stderr };
  }
  /** Recorded as a run of `nft -f -`, which is what it amounts to. */
  async nft(script: string): Promise<{ ok: boolean; error: string }> {
    const r = await this.exec(['nft', '-f', '-'], script);
    return { ok: r.code === 0, error: r.stderr.trim() };
  }
  /** Recorded as `nsenter --net=PATH nft -f -`. */
  async nftIn(path: string, script: string): Promise<{ ok: boolean; error: string }> {
    const r = await this.exec(['nsenter', `--net=${path}`, 'nft', '-f', '-'], script);
    return { ok: r.code === 0, error: r.stderr.trim() };
  }
  netnsCreate(path: string): void {
    this.native.push(`create ${path}`);
  }
  netnsConfigureIpv4(path: string, ifname: string, address: string, prefixLen: number, gateway: string | null): void {
    this.native.push(`configure ${path} ${ifname} ${address}/${prefixLen} ${gateway ?? '-'}`);
  }
  netnsRemove(path: string): void {
    this.native.push(`remove ${path}`);
  }
  writeSysctl(path: string, value: string): void {
    this.native.push(`sysctl ${path}=${value}`);
  }

  /** The stdin of every batch run of `tool`, split into lines. */
  batches(tool: string): string[][] {
    return this.calls.filter((c) => c.argv[0] === tool && c.argv.includes('-batch')).map((c) => c.input.trimEnd().split('\n'));
  }
}
