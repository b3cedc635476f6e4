import { TsswarmError } from '../../../shared/errors';

/** A message that does not parse as DNS; the server answers FORMERR when it can read the header. */
export class DnsFormatError extends TsswarmError {
  readonly code = 'DNS_FORMAT';
}

/** A DnsServer method called in a state where it means nothing (start twice, update after close). */
export class DnsServerStateError extends TsswarmError {
  readonly code = 'DNS_SERVER_STATE';
  override readonly status = 500;
}

/** Every upstream resolver failed or timed out; the client gets SERVFAIL. */
export class DnsUpstreamError extends TsswarmError {
  readonly code = 'DNS_UPSTREAM';
  override readonly status = 502;
}
