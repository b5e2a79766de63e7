/**
 * The agent's {@link Logger} adapter: one JSON line per event, `{time, level, msg, ...fields}`,
 * with the fields redacted by the shared rule (lib/core/logger.ts), so a careless
 * `log.info('x', { headers })` cannot leak the service-account token or AWS keys.
 */
import { type LogFields, type Logger, type LogLevel, redactFields } from '../core/logger.js';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(opts: {
  write: (line: string) => void;
  level?: LogLevel;
  now?: () => number;
  base?: LogFields;
}): Logger {
  const min = ORDER[opts.level ?? 'info'];
  const now = opts.now ?? Date.now;
  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
      if (ORDER[level] < min) return;
      const rec = redactFields({ ...base, ...fields });
      opts.write(`${JSON.stringify({ time: new Date(now()).toISOString(), level, msg, ...rec })}\n`);
    };
    return {
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      child: (f) => make({ ...base, ...f }),
    };
  };
  return make(opts.base ?? {});
}

/** A logger that keeps lines in memory (tests). */
export function memoryLogger(): Logger & { lines: LogFields[] } {
  const lines: LogFields[] = [];
  const logger = createLogger({ write: (l) => lines.push(JSON.parse(l) as LogFields), level: 'debug' });
  return Object.assign(logger, { lines });
}
