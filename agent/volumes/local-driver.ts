/**
 * The `local` volume driver's options, as Docker's (moby volume/local): with none, a volume is a
 * directory on the node; with `type` and `device` (and `o`), the volume's `_data` is a mount of that
 * filesystem, made by mount(8): `type: tmpfs, device: tmpfs, o: size=64m`, `type: none, o: bind,
 * device: /srv/x`, `type: nfs, o: addr=10.0.0.5,rw, device: :/export`.
 */
import { InvalidVolumeError } from './errors';

export const LOCAL_DRIVER = 'local';

const KEYS = ['type', 'device', 'o'] as const;

/** What mount(8) is given for a volume: `mount -t type -o options device <_data>`. */
export interface LocalMount {
  type: string;
  device: string;
  /** mount(8)'s comma-separated options; '' for none. */
  options: string;
}

/** Throws InvalidVolumeError with Docker's wording for options the local driver does not take. */
export function validateLocalOptions(options: Readonly<Record<string, string>>): void {
  for (const k of Object.keys(options)) {
    if (!(KEYS as readonly string[]).includes(k)) throw new InvalidVolumeError(`invalid option key: ${JSON.stringify(k)}`);
  }
  const has = (k: string): boolean => (options[k] ?? '') !== '';
  // moby's mandatory pairs: a filesystem needs both its type and its device; options need a device.
  if (has('type') && !has('device')) throw new InvalidVolumeError('missing required option: "device"');
  if (has('device') && !has('type')) throw new InvalidVolumeError('missing required option: "type"');
  if (has('o') && !has('device')) throw new InvalidVolumeError('missing required option: "device"');
  for (const k of KEYS) {
    if ((options[k] ?? '').includes('\0')) throw new InvalidVolumeError(`option ${k} cannot contain NUL`);
  }
  if (has('type') && !/^[A-Za-z0-9_.+-]+$/.test(options['type'] ?? '')) throw new InvalidVolumeError(`invalid filesystem type ${JSON.stringify(options['type'])}`);
}

/** The mount a volume with these (valid) options needs, or null for a plain directory. */
export function localMountOf(options: Readonly<Record<string, string>>): LocalMount | null {
  const type = options['type'] ?? '';
  const device = options['device'] ?? '';
  if (type === '' || device === '') return null;
  return { type, device, options: options['o'] ?? '' };
}
