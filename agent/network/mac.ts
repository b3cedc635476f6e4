/** MAC addresses the data plane is handed (task MACs come from shared/net/ipv4.ts macForIp). */
import { InvalidNetworkConfigError } from './errors';

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
