/**
 * How a Docker API route answers: Docker's status codes (201 for a create, 204 for some deletes)
 * and its error body `{"message": ...}`. The routes return a value (200 with it as JSON) or a
 * `Reply`; a streaming route writes to the response itself and returns `STREAMED`.
 */
import type * as http from 'node:http';
import { isTsswarmError } from '../../shared/errors';
import { API_VERSION } from './system';

export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

export const STREAMED = Symbol('streamed');

/** The headers Docker's daemon puts on every answer (a client reads its API version from any of them). */
export function dockerHeaders(): Record<string, string> {
  return { 'Api-Version': API_VERSION, Ostype: 'linux', Server: 'tsswarm' };
}

export function sendDocker(res: http.ServerResponse, status: number, body: unknown): void {
  if (body === undefined || status === 204) {
    res.writeHead(status, dockerHeaders());
    res.end();
    return;
  }
  const data = Buffer.from(JSON.stringify(body) + '\n');
  res.writeHead(status, { ...dockerHeaders(), 'Content-Type': 'application/json', 'Content-Length': data.length });
  res.end(data);
}

/** A failure as Docker words it: the status the error carries (404, 409, 503 ...), else 500. */
export function sendDockerError(res: http.ServerResponse, e: unknown): void {
  if (isTsswarmError(e)) return sendDocker(res, e.status, { message: e.message });
  sendDocker(res, 500, { message: (e as Error)?.message ?? String(e) });
}
