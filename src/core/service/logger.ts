// The logging surface core and plugin write to; embedders pass their own (pino, console…).
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LEVELS)[number];

/** One JSON object per line on stderr, at `level` and above. */
export function jsonLogger(level: LogLevel = "info"): Logger {
  const min = LEVELS.indexOf(level);
  const at =
    (lvl: LogLevel) =>
    (msg: string, fields?: LogFields): void => {
      if (LEVELS.indexOf(lvl) < min) return;
      process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields })}\n`);
    };
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
