/** Task MACs derived from their IPs: any host computes any task's MAC without asking anyone. */
import { InvalidNetworkConfigError } from './errors';
import { requireIpv4 } from './ipv4';

/**
 * `02:42:` + the four address bytes, as Docker does: locally administered (bit 1 of the first
 * byte), unicast, and unique as long as the IPs are unique on the network.
 */
export function macForIp(ip: string): string {
  const n = requireIpv4(ip, 'ip');
  const bytes = [0x02, 0x42, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Lower-case, colon-separated, unicast (the kernel refuses multicast addresses on a device). */
export function normalizeMac(mac: string, field: string): string {
  const m = mac.toLowerCase();
  const first = parseInt(m.slice(0, 2), 16);
  if (!MAC.test(m) || (first & 1) === 1 || m === '00:00:00:00:00:00') {
    throw new InvalidNetworkConfigError(`${field}: ${JSON.stringify(mac)} is not a unicast MAC address`, field);
  }
  return m;
}
