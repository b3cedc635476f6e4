/** The part of WHATWG fetch the project's HTTP clients use, so a TLS-configured undici fetch can stand in. */
export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string | ReadableStream<Uint8Array> | import('node:stream').Readable;
  /** Required by undici when the body is a stream. */
  duplex?: 'half';
  signal?: AbortSignal;
  redirect?: 'follow' | 'manual';
}

export type Fetch = (url: string, init?: FetchInit) => Promise<Response>;
