// Test support: the process-wide logger of the test run. The preload (test/support/preload.ts)
// installs it before any test file loads, so code under test logs here instead of to stderr, and
// a test that triggers a warning can assert it with captureLog().
//
// OSPREY_TEST_LOG=stderr also prints every line to stderr, as the server does; OSPREY_TEST_LOG=<file>
// appends every line to that file. Either helps when a failing test's log matters.

import type { LogLevel } from "../../src/config.types.ts";
import { createLog, setLog } from "../../src/log.ts";

/** Lines logged while a capture is active, as the log file has them (`<timestamp> WARN …`). */
export interface LogCapture {
  /** Every line logged since captureLog(), without its newline. */
  lines(): string[];
  /** The same lines without their timestamps: `WARN recovery: trimmed …`. */
  messages(): string[];
  /** Stops capturing; lines() and messages() keep what was captured. */
  stop(): void;
}

const captures = new Set<string[]>();

function receive(line: string): void {
  const text = line.endsWith("\n") ? line.slice(0, -1) : line;
  for (const lines of captures) lines.push(text);
}

let installed = false;

/**
 * Makes the shared `log` of src/log.ts write to the captures (and where OSPREY_TEST_LOG says),
 * never to stderr, at DEBUG so every line can be asserted. Installing twice does nothing.
 */
export function installTestLog(env: string | undefined = process.env.OSPREY_TEST_LOG): void {
  if (installed) return;
  installed = true;
  const toStderr = env === "stderr";
  const logFile = env !== undefined && env !== "" && !toStderr ? env : "";
  const logLevel: LogLevel = "DEBUG";
  // slowlog_threshold_ms as the server's default: in-process tests see the slowlog lines a server would write.
  setLog(createLog({ logLevel, logFile, slowlogThresholdMs: 50 }, { consoleEnable: toStderr, onLine: receive }));
}

/** Starts capturing what the shared log writes from now on. */
export function captureLog(): LogCapture {
  const lines: string[] = [];
  captures.add(lines);
  return {
    lines: () => [...lines],
    messages: () => lines.map((l) => l.slice(l.indexOf(" ") + 1)),
    stop: () => void captures.delete(lines),
  };
}
