// The structured logger (pino): one line per event, secrets redacted by key name. JSON for log
// collectors; on a terminal (or `log.format: pretty`), the same events as readable lines through
// pino-pretty, in this thread.
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type LogFormat = 'auto' | 'json' | 'pretty';

export function createLogger(level: string, destination?: NodeJS.WritableStream, format: LogFormat = 'json'): Logger {
  const readable = format === 'pretty' || (format === 'auto' && destination === undefined && process.stdout.isTTY === true);
  const out = readable
    ? pretty({
        destination: destination ?? 1,
        colorize: destination === undefined && process.stdout.isTTY === true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname,service',
        singleLine: true,
        sync: true,
      })
    : (destination ?? pino.destination({ sync: false }));
  return pino(
    {
      level,
      base: { service: 'junction' },
      redact: {
        paths: ['password', 'passcode', 'passwordHash', '*.password', '*.passcode', '*.passwordHash'],
        censor: '[redacted]',
      },
    },
    out,
  );
}
