import { pino, type Logger } from 'pino';

export type { Logger };

const redact = ['req.headers.authorization', 'headers.authorization', '*.apiKey', '*.password', '*.token'];

export function createLogger(level: string, name: string): Logger {
  return pino({ level, name, redact, base: { pid: process.pid, service: name } });
}
