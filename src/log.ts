// Logging: consola to stderr plus an appended log file, the slowlog, and the shared `log`
// that every module imports. File lines are buffered by a stream so logging never blocks a turn.

import { createWriteStream, mkdirSync, openSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import { createConsola, type ConsolaReporter, type LogObject } from "consola";
import type { Config, LogLevel } from "./config.types.ts";
import { defaults } from "./constants.ts";

/** A logger: four levels, the slowlog, and close() to flush the file at shutdown. */
export interface Log {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /**
   * Warn `slow command GET keys=1 took 63.2ms` if durationMs ≥ slowlog_threshold_ms; with
   * `together` > 1 the time is that of a run of requests timed together (commands/timing.ts), the
   * command its largest. Never logs values.
   */
  slow(command: string, keyCount: number, durationMs: number, together?: number): void;
  /** Stop writing and resolve once every earlier line is in the log file. */
  close(): Promise<void>;
  /**
   * Reopens the log file by its path (after logrotate moved it away): later lines go to a new file
   * there, earlier ones finish in the old. Null when done or there is no file, else why not.
   */
  reopen?(): string | null;
  /** Changes the level and the slowlog threshold of a running logger (SIGHUP's config reload). */
  reconfigure?(next: Pick<LogConfig, "logLevel" | "slowlogThresholdMs">): void;
}

/** The part of Config a logger needs; logFile "" means console only. */
export type LogConfig = Pick<Config, "logLevel" | "logFile" | "slowlogThresholdMs">;

/** Options of createLog. */
export interface LogOptions {
  /** Also print to stderr (default true); tests and daemons may want the file only. */
  consoleEnable?: boolean;
  /** Also hand every line, as the log file has it, to this function (the test suite's capture). */
  onLine?: (line: string) => void;
}

// consola's numeric levels: a message is shown when its level is at most the instance's.
const consolaLevels: Record<LogLevel, number> = { ERROR: 0, WARN: 1, INFO: 3, DEBUG: 4 };

/** Create a logger that prints to stderr and appends to config.logFile (parent folders created). */
export function createLog(config: LogConfig, opts: LogOptions = {}): Log {
  const consola = createConsola({
    level: consolaLevels[config.logLevel],
    // Throttling would hold repeated lines back on a timer and collapse them; the file wants all.
    throttle: 0,
    // stdout may carry a program's output (the CLI's replies); logs never mix into it.
    stdout: process.stderr,
    stderr: process.stderr,
  });
  const file = config.logFile === "" ? undefined : new LogFile(config.logFile, (msg) => consola.error(msg));
  const reporters: ConsolaReporter[] = [];
  if (opts.consoleEnable !== false) reporters.push(consoleReporter(consola.options.reporters));
  if (file) reporters.push({ log: (obj) => file.write(fileLine(obj)) });
  const onLine = opts.onLine;
  if (onLine) reporters.push({ log: (obj) => onLine(fileLine(obj)) });
  consola.setReporters(reporters);

  let thresholdMs = config.slowlogThresholdMs;
  return {
    debug: (msg) => consola.debug(msg),
    info: (msg) => consola.info(msg),
    warn: (msg) => consola.warn(msg),
    error: (msg) => consola.error(msg),
    slow(command, keyCount, durationMs, together = 1) {
      if (durationMs < thresholdMs) return;
      const run = together > 1 ? ` with ${together - 1} other requests timed together` : "";
      consola.warn(`slow command ${command} keys=${keyCount} took ${durationMs.toFixed(1)}ms${run}`);
    },
    close: () => (file ? file.close() : Promise.resolve()),
    reopen: () => (file ? file.reopen() : null),
    reconfigure(next) {
      consola.level = consolaLevels[next.logLevel];
      thresholdMs = next.slowlogThresholdMs;
    },
  };
}

/**
 * consola's own reporter on a terminal, where people read it; elsewhere (a service manager,
 * a pipe) the file's plain timestamped lines, since badges and blank lines only get in the way.
 */
function consoleReporter(fancy: ConsolaReporter[]): ConsolaReporter {
  if (process.stderr.isTTY && fancy[0]) return fancy[0];
  return { log: (obj) => process.stderr.write(fileLine(obj)) };
}

/** `2026-11-23T06:59:01.123Z INFO message`: sortable, greppable, one level word. */
function fileLine(obj: LogObject): string {
  return `${obj.date.toISOString()} ${levelName(obj.level)} ${obj.args.join(" ")}\n`;
}

function levelName(level: number): LogLevel {
  if (level <= consolaLevels.ERROR) return "ERROR";
  if (level <= consolaLevels.WARN) return "WARN";
  if (level <= consolaLevels.INFO) return "INFO";
  return "DEBUG";
}

/**
 * An append-only log file. The fd is opened synchronously so a bad log_file fails at start-up;
 * writes then queue in a stream and reach the file without blocking the event loop.
 */
class LogFile {
  readonly #path: string;
  readonly #report: (msg: string) => void;
  #stream: WriteStream;
  #open = true;
  #closed: Promise<void>;

  constructor(path: string, report: (msg: string) => void) {
    this.#path = path;
    this.#report = report;
    this.#stream = this.#openStream();
    this.#closed = closedPromise(this.#stream);
  }

  /** Opens the file for appending (creating its folders) and a stream over it; throws when it cannot. */
  #openStream(): WriteStream {
    mkdirSync(dirname(this.#path), { recursive: true });
    const stream = createWriteStream(this.#path, { fd: openSync(this.#path, "a") });
    // An unhandled stream error would kill the server; a full disk should only stop the log file.
    stream.on("error", (err) => {
      if (!this.#open || stream !== this.#stream) return;
      this.#open = false;
      this.#report(`log file ${this.#path} failed, logging to console only: ${err.message}`);
    });
    return stream;
  }

  write(line: string): void {
    // Backpressure is ignored: log lines are few and small, and dropping them would hide trouble.
    if (this.#open) this.#stream.write(line);
  }

  /** See Log.reopen. The old stream ends after the lines already queued on it. */
  reopen(): string | null {
    if (!this.#open) return `log file ${this.#path} is closed`;
    let next: WriteStream;
    try {
      next = this.#openStream();
    } catch (e) {
      return `cannot reopen ${this.#path}, still writing to the file opened before: ${(e as Error).message}`;
    }
    const old = this.#stream;
    this.#stream = next;
    this.#closed = closedPromise(next);
    old.end();
    return null;
  }

  close(): Promise<void> {
    if (this.#open) {
      this.#open = false;
      this.#stream.end();
    }
    // After a stream error autoDestroy has closed it already, so this resolves at once.
    return this.#closed;
  }
}

function closedPromise(stream: WriteStream): Promise<void> {
  return new Promise((resolve) => stream.once("close", resolve));
}

let current: Log = createLog({ logLevel: "INFO", logFile: "", slowlogThresholdMs: defaults.slowlog_threshold_ms });

/**
 * The process-wide logger: console only at INFO until setLog() installs the configured one.
 * Its methods look up the current logger on each call, so importers never hold a stale one.
 */
export const log: Log = {
  debug: (msg) => current.debug(msg),
  info: (msg) => current.info(msg),
  warn: (msg) => current.warn(msg),
  error: (msg) => current.error(msg),
  slow: (command, keyCount, durationMs, together) => current.slow(command, keyCount, durationMs, together),
  close: () => current.close(),
  reopen: () => current.reopen?.() ?? null,
  reconfigure: (next) => current.reconfigure?.(next),
};

/** Make `next` the logger behind `log`; returns the previous one (for tests, or to close it). */
export function setLog(next: Log): Log {
  if (next === log) throw new Error("setLog(log) would make log call itself forever");
  const previous = current;
  current = next;
  return previous;
}
