import type { Client } from './client';
import type { Parsed } from '../shared/flags';

export interface CommandContext {
  client: Client;
  args: Parsed;
  json: boolean;
}
