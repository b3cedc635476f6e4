/** The per-host overlay data plane: see README.md. */
export { HostNetwork, validateOverlaySpec } from './host-network';
export { macForIp } from '../../shared/net/ipv4';
export { InvalidNetworkConfigError, NetworkCommandError, HostNetworkClosedError } from './errors';
export { nativeNetSys } from './sys';
export type { NetSys, ExecResult } from './sys';
export type { OverlaySpec, Endpoint, AttachSpec, HostNetworkOptions } from './types';
export type { PublishedPort } from './ports';
export { EspHelperError, type EspStats } from './encryption/helper';
