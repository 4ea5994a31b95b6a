// pino logging shared by every process: one JSON line per thing worth knowing. Every T-Server line
// carries server, role and epoch (mixin reads them live, so child loggers stay correct after a
// role change). To a file when configured (reopened on SIGHUP for log rotation), else stdout.
import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LogContext {
  server: string;
  role?: () => string;
  epoch?: () => number;
}

export interface LogOptions {
  level?: LevelWithSilent;
  file?: string;
}

export interface LogHandle {
  logger: Logger;
  /** Reopen the log file (after logrotate moved it). No-op for stdout. */
  reopen(): void;
  setLevel(level: LevelWithSilent): void;
  flush(): void;
}

export function createLogger(ctx: LogContext, opts: LogOptions = {}): LogHandle {
  const dest = opts.file
    ? pino.destination({ dest: opts.file, sync: false, mkdir: true })
    : pino.destination({ dest: 1, sync: false });
  const logger = pino(
    {
      level: opts.level ?? (process.env.TANDEM_LOG_LEVEL as LevelWithSilent | undefined) ?? 'info',
      base: { server: ctx.server, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: () => {
        const extra: Record<string, unknown> = {};
        if (ctx.role) extra.role = ctx.role();
        if (ctx.epoch) extra.epoch = ctx.epoch();
        return extra;
      },
      redact: { paths: ['token', 'secret', '*.token', '*.secret', 'userData', '*.userData'], censor: '[redacted]' },
    },
    dest,
  );
  return {
    logger,
    reopen: () => { if (opts.file) dest.reopen(); },
    setLevel: (level) => { logger.level = level; },
    flush: () => { try { dest.flushSync(); } catch { /* not ready yet: nothing buffered */ } },
  };
}
