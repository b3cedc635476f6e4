/** A small leveled logger writing one line per event to stderr. */
export type Level = 'debug' | 'info' | 'warn' | 'error';

const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  child(component: string): Logger;
}

export function createLogger(component: string, level: Level = (process.env.TSSWARM_LOG_LEVEL as Level | undefined) ?? 'info'): Logger {
  const min = order[level] ?? order.info;
  const write = (l: Level, msg: string) => {
    if (order[l] < min) return;
    process.stderr.write(`${new Date().toISOString()} ${l.toUpperCase()} [${component}] ${msg}\n`);
  };
  return {
    debug: (m) => write('debug', m),
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
    child: (c) => createLogger(`${component}/${c}`, level),
  };
}
