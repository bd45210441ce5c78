// The logger: file lines and their format, levels, the slowlog threshold, close(), and `log`;
// and the test run's own logger (test/support/log.ts), which keeps the suite's output clean.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LogLevel } from "../src/config.types.ts";
import { createLog, log, setLog, type Log } from "../src/log.ts";
import { captureLog } from "./support/log.ts";

const tmp = mkdtempSync(join(tmpdir(), "osprey-log-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let fileCount = 0;
function fileLog(logLevel: LogLevel, slowlogThresholdMs = 50): { logger: Log; path: string } {
  const path = join(tmp, `run${++fileCount}`, "logs", "osprey.log");
  const logger = createLog({ logLevel, logFile: path, slowlogThresholdMs }, { consoleEnable: false });
  return { logger, path };
}

function lines(path: string): string[] {
  return readFileSync(path, "utf8").split("\n").filter((l) => l !== "");
}

/** Each line without its timestamp, which is checked separately. */
function messages(path: string): string[] {
  return lines(path).map((l) => l.slice(l.indexOf(" ") + 1));
}

describe("log file", () => {
  test("lines are timestamped, carry their level, and are on disk after close()", async () => {
    const { logger, path } = fileLog("DEBUG");
    logger.debug("d");
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    await logger.close();
    expect(messages(path)).toEqual(["DEBUG d", "INFO i", "WARN w", "ERROR e"]);
    for (const line of lines(path)) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [A-Z]+ /);
  });

  test("the parent folders of the log file are created", async () => {
    const { logger, path } = fileLog("INFO");
    logger.info("made");
    await logger.close();
    expect(messages(path)).toEqual(["INFO made"]);
  });

  test("messages below log_level are not written", async () => {
    const { logger, path } = fileLog("WARN");
    logger.debug("d");
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    await logger.close();
    expect(messages(path)).toEqual(["WARN w", "ERROR e"]);
  });

  test("at the error level only errors are written", async () => {
    const { logger, path } = fileLog("ERROR");
    logger.info("i");
    logger.warn("w");
    logger.error("e");
    await logger.close();
    expect(messages(path)).toEqual(["ERROR e"]);
  });

  test("an existing log file is appended to, not truncated", async () => {
    const path = join(tmp, "existing.log");
    writeFileSync(path, "old line\n");
    const logger = createLog({ logLevel: "INFO", logFile: path, slowlogThresholdMs: 50 }, { consoleEnable: false });
    logger.info("new line");
    await logger.close();
    const [first, second] = lines(path);
    expect(first).toBe("old line");
    expect(second).toEndWith(" INFO new line");
  });

  test("repeated identical lines are all written, none collapsed", async () => {
    const { logger, path } = fileLog("INFO");
    for (let i = 0; i < 20; i++) logger.info("same");
    await logger.close();
    expect(messages(path)).toEqual(Array(20).fill("INFO same"));
  });

  test("many lines written in one turn are all on disk after close()", async () => {
    const { logger, path } = fileLog("INFO");
    for (let i = 0; i < 10_000; i++) logger.info(`line ${i}`);
    await logger.close();
    const got = messages(path);
    expect(got.length).toBe(10_000);
    expect(got[9_999]).toBe("INFO line 9999");
  });

  test("close() twice resolves both times, and lines after close() are dropped", async () => {
    const { logger, path } = fileLog("INFO");
    logger.info("before");
    await logger.close();
    logger.info("after");
    await logger.close();
    expect(messages(path)).toEqual(["INFO before"]);
  });

  test("an empty logFile logs to the console only and close() resolves", async () => {
    const logger = createLog({ logLevel: "INFO", logFile: "", slowlogThresholdMs: 50 }, { consoleEnable: false });
    logger.info("nowhere");
    await logger.close();
  });

  test("a log file that cannot be opened throws at creation", () => {
    const blocker = join(tmp, "a-file");
    writeFileSync(blocker, "");
    const logFile = join(blocker, "osprey.log");
    expect(() => createLog({ logLevel: "INFO", logFile, slowlogThresholdMs: 50 }, { consoleEnable: false })).toThrow();
  });
});

describe("slowlog", () => {
  test("a command at or over the threshold is logged as a warning with name, key count and duration", async () => {
    const { logger, path } = fileLog("INFO", 50);
    logger.slow("GET", 1, 63.21);
    logger.slow("MGET", 3, 50);
    await logger.close();
    expect(messages(path)).toEqual(["WARN slow command GET keys=1 took 63.2ms", "WARN slow command MGET keys=3 took 50.0ms"]);
  });

  test("a command under the threshold is not logged", async () => {
    const { logger, path } = fileLog("INFO", 50);
    logger.slow("GET", 1, 49.99);
    logger.info("marker");
    await logger.close();
    expect(messages(path)).toEqual(["INFO marker"]);
  });

  test("a threshold of 0 logs every command", async () => {
    const { logger, path } = fileLog("INFO", 0);
    logger.slow("PING", 0, 0);
    await logger.close();
    expect(messages(path)).toEqual(["WARN slow command PING keys=0 took 0.0ms"]);
  });

  test("at the error level slow commands are not logged", async () => {
    const { logger, path } = fileLog("ERROR", 0);
    logger.slow("GET", 1, 100);
    logger.error("marker");
    await logger.close();
    expect(messages(path)).toEqual(["ERROR marker"]);
  });
});

describe("the shared log", () => {
  test("after setLog every importer's log writes to the new logger", async () => {
    const { logger, path } = fileLog("DEBUG", 10);
    const previous = setLog(logger);
    try {
      log.debug("via shared");
      log.slow("SET", 1, 11);
      await log.close();
    } finally {
      setLog(previous);
    }
    expect(messages(path)).toEqual(["DEBUG via shared", "WARN slow command SET keys=1 took 11.0ms"]);
  });

  test("setLog refuses the shared log itself", () => {
    expect(() => setLog(log)).toThrow();
  });
});

describe("the test run's log", () => {
  test("what the shared log writes during a test is captured with its level, and nothing reaches stderr", () => {
    const capture = captureLog();
    const write = process.stderr.write;
    let printed = "";
    process.stderr.write = ((chunk: string | Uint8Array) => {
      printed += String(chunk);
      return true;
    }) as typeof process.stderr.write;
    try {
      log.debug("d");
      log.warn("recovery: something to assert");
      log.slow("GET", 1, 60);
    } finally {
      process.stderr.write = write;
      capture.stop();
    }
    log.info("after stop");
    expect(capture.messages()).toEqual(["DEBUG d", "WARN recovery: something to assert", "WARN slow command GET keys=1 took 60.0ms"]);
    for (const line of capture.lines()) expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [A-Z]+ /);
    // OSPREY_TEST_LOG=stderr asks for the lines on stderr as well.
    expect(printed).toBe(process.env.OSPREY_TEST_LOG === "stderr" ? capture.lines().map((l) => `${l}\n`).join("") : "");
  });

  test("two captures at once each get every line", () => {
    const a = captureLog();
    log.info("one");
    const b = captureLog();
    log.error("two");
    a.stop();
    b.stop();
    expect(a.messages()).toEqual(["INFO one", "ERROR two"]);
    expect(b.messages()).toEqual(["ERROR two"]);
  });
});
