import { pino } from 'pino';

/** JSON logs; anything that could carry a secret is redacted by path as a second line of defence. */
export function createLogger(level: string) {
  return pino({
    level,
    base: { service: 'unified-id' },
    redact: {
      paths: [
        'password',
        '*.password',
        'client_secret',
        '*.client_secret',
        'authorization',
        '*.authorization',
        'cookie',
        '*.cookie',
        'idNumber',
        '*.idNumber',
        'access_token',
        'refresh_token',
        'code',
        // Database errors carry the query's parameters; they may be personal data.
        'err.params',
        'err.cause.params',
      ],
      censor: '[redacted]',
    },
  });
}
