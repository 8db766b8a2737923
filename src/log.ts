// The structured logger (pino): JSON, one line per event, secrets redacted by key name.
import { pino, type Logger } from 'pino';

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'junction' },
      redact: {
        paths: ['password', 'passcode', 'passwordHash', '*.password', '*.passcode', '*.passwordHash'],
        censor: '[redacted]',
      },
    },
    destination ?? pino.destination({ sync: false }),
  );
}
