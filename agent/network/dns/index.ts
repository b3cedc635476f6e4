export { DnsServer, type DnsServerOptions } from './server';
export type { DnsRecordSet } from './records';
export { mergeRecordSets } from './records';
export { buildRecordSet, type ServiceEndpoint, type TaskEndpoint } from './build';
export { resolvConfFor, hostsFileFor } from './container-files';
export { DnsServerStateError, DnsUpstreamError, DnsFormatError } from './errors';
