/** Small helpers for the REST API: JSON bodies and error answers. */
import type * as http from 'node:http';
import { InvalidArgumentError, isTsswarmError, type ErrorBody } from '../../shared/errors';

const MAX_JSON_BODY = 8 * 1024 * 1024;

export async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    const b = c as Buffer;
    size += b.length;
    if (size > MAX_JSON_BODY) throw new InvalidArgumentError('request body too large');
    chunks.push(b);
  }
  if (size === 0) return null;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new InvalidArgumentError('request body is not valid JSON');
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: http.ServerResponse, e: unknown): void {
  if (isTsswarmError(e)) {
    const body: ErrorBody = { error: { code: e.code, message: e.message } };
    sendJson(res, e.status, body);
    return;
  }
  const body: ErrorBody = { error: { code: 'INTERNAL', message: `internal error: ${(e as Error)?.message ?? String(e)}` } };
  sendJson(res, 500, body);
}
