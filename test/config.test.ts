// osprey.toml → Config: defaults, the shipped file, and that every bad key is named.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError, configFromObject, loadConfig } from "../src/config.ts";
import { connectionInputBytesMax, defaults, keyBytesMaxLimit, outputHardBytes, valueBytesMaxLimit } from "../src/constants.ts";

const tmp = mkdtempSync(join(tmpdir(), "osprey-config-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const repoToml = resolve(import.meta.dir, "..", "osprey.toml");

function writeToml(name: string, text: string): string {
  const path = join(tmp, name);
  writeFileSync(path, text);
  return path;
}

/** The ConfigError message configFromObject throws for one bad key, or fails the test. */
function errorFor(raw: Record<string, unknown>): string {
  try {
    configFromObject(raw, { warn: () => {} });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(raw, (_, v) => (typeof v === "bigint" ? `${v}n` : v))}`);
}

describe("defaults", () => {
  test("no config file gives the built-in defaults", () => {
    const cfg = loadConfig(undefined, { warn: () => {} });
    expect(cfg).toEqual({
      listenHost: "127.0.0.1",
      listenPort: 7070,
      respListenHost: null,
      respListenPort: 0,
      clientsMax: defaults.max_clients,
      keyBytesMax: defaults.max_key_bytes,
      valueBytesMax: defaults.max_value_bytes,
      clientInputBytesMax: defaults.client_input_bytes_max,
      clientOutputBytesMax: defaults.client_output_bytes_max,
      dataDir: resolve(process.cwd(), "data"),
      walBytesMax: defaults.wal_max_bytes,
      syncPolicy: "batch",
      batchFsyncMs: defaults.batch_fsync_ms,
      batchFsyncBytes: defaults.batch_fsync_bytes,
      snapshotEnable: true,
      snapshotFork: true,
      snapshotForkBytesMin: defaults.snapshot_fork_min_bytes,
      snapshotBusyBytesPerSec: defaults.snapshot_busy_bytes_per_sec,
      snapshotPauseMaxMs: defaults.snapshot_pause_max_ms,
      busyWarnMs: defaults.busy_warn_ms,
      sweepIntervalMs: defaults.sweep_interval_ms,
      sweepBatch: defaults.sweep_batch,
      metricsEnable: true,
      logLevel: "INFO",
      logFile: resolve(process.cwd(), "data", "logs", "osprey.log"),
      slowlogThresholdMs: defaults.slowlog_threshold_ms,
      pubsubOutputBytesMax: defaults.pubsub_output_bytes_max,
      notifyKeyspaceEvents: "",
      metricsListenHost: null,
      metricsListenPort: 0,
      umask: 0o077,
      maxMemoryBytes: 0,
      evictionPolicy: "noeviction",
      authPassword: "",
      users: [],
      aclFile: null,
      protectedMode: true,
      tlsCertFile: null,
      tlsKeyFile: null,
      tlsCaFile: null,
      tlsClientAuth: "no",
      tlsListenHost: null,
      tlsListenPort: 0,
      timeoutSeconds: 0,
      unauthenticatedClientsMax: defaults.max_unauthenticated_clients,
      authTimeoutSeconds: defaults.auth_timeout,
      authFailureDelayMs: defaults.auth_failure_delay_ms,
    });
  });

  test("the config is frozen", () => {
    const cfg = configFromObject({});
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  test("the repository's osprey.toml loads without warnings and equals the defaults", () => {
    const warnings: string[] = [];
    const cfg = loadConfig(repoToml, { warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
    expect(cfg).toEqual(loadConfig(undefined));
  });

  test("the repository's osprey.toml sets every key", async () => {
    const { parse } = await import("smol-toml");
    const keys = Object.keys(parse(await Bun.file(repoToml).text())).sort();
    expect(keys).toEqual(Object.keys(defaults).sort());
  });
});

describe("loading files", () => {
  test("a file overrides only the keys it sets", () => {
    const path = writeToml("some.toml", 'max_clients = 5\nsync_policy = "always"\n');
    const cfg = loadConfig(path);
    expect(cfg.clientsMax).toBe(5);
    expect(cfg.syncPolicy).toBe("always");
    expect(cfg.keyBytesMax).toBe(defaults.max_key_bytes);
  });

  test("a missing file is a ConfigError naming the file", () => {
    const path = join(tmp, "nope.toml");
    expect(() => loadConfig(path)).toThrow(ConfigError);
    expect(() => loadConfig(path)).toThrow(`${path}: cannot read config file: no such file`);
  });

  test("a file that is not TOML is a ConfigError naming the file and the line", () => {
    const path = writeToml("broken.toml", 'max_clients = 5\nlog_level = "INFO\nsweep_batch = 3\n');
    expect(() => loadConfig(path)).toThrow(ConfigError);
    expect(() => loadConfig(path)).toThrow(new RegExp(`^${path}: invalid TOML at line 2, column \\d+: `));
  });

  test("a bad value in a file names the file and the key", () => {
    const path = writeToml("bad.toml", 'max_clients = "abc"\n');
    expect(() => loadConfig(path)).toThrow(`${path}: max_clients: expected a positive integer, got "abc"`);
  });

  test("relative paths in a file resolve against the working directory, not the file's folder", () => {
    const path = writeToml("paths.toml", 'data_dir = "d"\nlog_file = "logs/x.log"\n');
    const cfg = loadConfig(path);
    expect(cfg.dataDir).toBe(resolve(process.cwd(), "d"));
    expect(cfg.logFile).toBe(resolve(process.cwd(), "logs/x.log"));
  });

  test("an integer beyond 2^53 in a file is rejected by range, not rounded", () => {
    const path = writeToml("huge.toml", "sweep_batch = 99999999999999999999\n");
    expect(() => loadConfig(path)).toThrow("sweep_batch: expected a positive integer, got 99999999999999999999");
  });

  test("unknown keys in a file warn once, naming the file and every key", () => {
    const path = writeToml("unknown.toml", "colour = 1\nmax_clients = 3\n[server]\nport = 1\n");
    const warnings: string[] = [];
    loadConfig(path, { warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([`${path}: unknown config keys ignored: colour, server`]);
  });
});

describe("unknown keys", () => {
  test("unknown keys warn once, naming all of them", () => {
    const warnings: string[] = [];
    const cfg = configFromObject({ foo: 1, max_clients: 2, bar: "x" }, { warn: (m) => warnings.push(m) });
    expect(warnings).toEqual(["unknown config keys ignored: foo, bar"]);
    expect(cfg.clientsMax).toBe(2);
  });

  test("known keys only never warn", () => {
    const warnings: string[] = [];
    configFromObject({ ...defaults }, { warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
  });

  test("a key inherited from Object.prototype counts as unknown", () => {
    const warnings: string[] = [];
    configFromObject({ toString: "x" }, { warn: (m) => warnings.push(m) });
    expect(warnings).toEqual(["unknown config keys ignored: toString"]);
  });
});

describe("wrong types and values name the key", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["a string for an integer", { max_clients: "abc" }, 'max_clients: expected a positive integer, got "abc"'],
    ["a fraction for an integer", { sweep_batch: 1.5 }, "sweep_batch: expected a positive integer, got 1.5"],
    ["zero max_clients", { max_clients: 0 }, "max_clients: expected a positive integer, got 0"],
    ["zero sweep_batch", { sweep_batch: 0 }, "sweep_batch: expected a positive integer, got 0"],
    ["zero sweep_interval_ms", { sweep_interval_ms: 0 }, "sweep_interval_ms: expected an integer from 1 to 2147483647, got 0"],
    ["a tiny wal_max_bytes", { wal_max_bytes: 1023 }, "wal_max_bytes: expected an integer of at least 1024, got 1023"],
    ["zero max_key_bytes", { max_key_bytes: 0 }, `max_key_bytes: expected an integer from 1 to ${keyBytesMaxLimit}, got 0`],
    ["max_key_bytes over its limit", { max_key_bytes: keyBytesMaxLimit + 1 }, `max_key_bytes: expected an integer from 1 to ${keyBytesMaxLimit}, got ${keyBytesMaxLimit + 1}`],
    ["max_value_bytes over its limit", { max_value_bytes: valueBytesMaxLimit + 1 }, `max_value_bytes: expected an integer from 1 to ${valueBytesMaxLimit}, got ${valueBytesMaxLimit + 1}`],
    ["a client_input_bytes_max below one client's input limit", { max_value_bytes: 1024, client_input_bytes_max: connectionInputBytesMax(1024) - 1 }, `client_input_bytes_max: expected an integer of at least ${connectionInputBytesMax(1024)}, got ${connectionInputBytesMax(1024) - 1}`],
    ["a client_output_bytes_max below one client's own output limit", { client_output_bytes_max: outputHardBytes - 1 }, `client_output_bytes_max: expected an integer of at least ${outputHardBytes}, got ${outputHardBytes - 1}`],
    ["a client_input_bytes_max below one client's limit at a large max_value_bytes", { max_value_bytes: valueBytesMaxLimit, client_input_bytes_max: 512 * 1024 * 1024 }, `client_input_bytes_max: expected an integer of at least ${connectionInputBytesMax(valueBytesMaxLimit)}, got ${512 * 1024 * 1024}`],
    ["a negative busy_warn_ms", { busy_warn_ms: -1 }, "busy_warn_ms: expected an integer from 0 to 2147483647, got -1"],
    ["a timer delay that would overflow", { batch_fsync_ms: 2 ** 31 }, "batch_fsync_ms: expected an integer from 1 to 2147483647, got 2147483648"],
    ["a slowlog threshold below -1 (off)", { slowlog_threshold_ms: -5 }, "slowlog_threshold_ms: expected an integer from -1 to 2147483647, got -5"],
    ["a negative snapshot pause", { snapshot_pause_max_ms: -1 }, "snapshot_pause_max_ms: expected an integer from 0 to 2147483647, got -1"],
    ["a negative snapshot pace", { snapshot_busy_bytes_per_sec: -1 }, "snapshot_busy_bytes_per_sec: expected a non-negative integer, got -1"],
    ["zero batch_fsync_bytes", { batch_fsync_bytes: 0 }, "batch_fsync_bytes: expected a positive integer, got 0"],
    ["a bigint out of range", { max_clients: -1n }, "max_clients: expected a positive integer, got -1"],
    ["a string for a boolean", { enable_snapshot: "yes" }, 'enable_snapshot: expected true or false, got "yes"'],
    ["a number for a boolean", { metrics_enable: 1 }, "metrics_enable: expected true or false, got 1"],
    ["an unknown sync_policy", { sync_policy: "never" }, 'sync_policy: expected one of os, batch, always, got "never"'],
    ["an unknown log_level", { log_level: "TRACE" }, 'log_level: expected one of DEBUG, INFO, WARN, ERROR, got "TRACE"'],
    ["a number for log_level", { log_level: 3 }, "log_level: expected one of DEBUG, INFO, WARN, ERROR, got 3"],
    ["an empty data_dir", { data_dir: "" }, 'data_dir: expected a non-empty string, got ""'],
    ["a table for log_file", { log_file: { a: 1 } }, "log_file: expected a string, got a table"],
    ["an array for data_dir", { data_dir: ["a"] }, "data_dir: expected a non-empty string, got an array"],
    ["a letter notify_keyspace_events does not know", { notify_keyspace_events: "KEQ" }, `notify_keyspace_events: expected Redis's notify-keyspace-events letters (of KEg$lshzxetdmnA), got "KEQ"`],
    ["a tiny pubsub_output_bytes_max", { pubsub_output_bytes_max: 1023 }, "pubsub_output_bytes_max: expected an integer of at least 1024, got 1023"],
    ["a number for listen_addr", { listen_addr: 7070 }, 'listen_addr: expected "host:port" with port 0-65535 (IPv6 as "[::1]:7070"), got 7070'],
  ];
  for (const [what, raw, message] of cases) {
    test(`${what} is a ConfigError naming the key`, () => {
      expect(errorFor(raw)).toBe(message);
    });
  }
});

describe("integers", () => {
  test("bigint integers in range are accepted as numbers", () => {
    const cfg = configFromObject({ max_clients: 12n, wal_max_bytes: 4096n });
    expect(cfg.clientsMax).toBe(12);
    expect(cfg.walBytesMax).toBe(4096);
  });

  test("the bounds themselves are accepted", () => {
    const cfg = configFromObject({
      max_key_bytes: keyBytesMaxLimit,
      max_value_bytes: valueBytesMaxLimit,
      wal_max_bytes: 1024,
      client_input_bytes_max: connectionInputBytesMax(valueBytesMaxLimit),
      busy_warn_ms: 0,
      slowlog_threshold_ms: 0,
    });
    expect(cfg.keyBytesMax).toBe(keyBytesMaxLimit);
    expect(cfg.valueBytesMax).toBe(valueBytesMaxLimit);
    expect(cfg.walBytesMax).toBe(1024);
    expect(cfg.slowlogThresholdMs).toBe(0);
  });

  test("slowlog_threshold_ms = -1 turns slow logging off: no duration reaches the threshold", () => {
    expect(configFromObject({ slowlog_threshold_ms: -1 }).slowlogThresholdMs).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("enumerations", () => {
  test("log_level is accepted in any case and stored upper-case", () => {
    expect(configFromObject({ log_level: "debug" }).logLevel).toBe("DEBUG");
    expect(configFromObject({ log_level: "Warn" }).logLevel).toBe("WARN");
  });

  test("sync_policy is accepted in any case and stored lower-case", () => {
    expect(configFromObject({ sync_policy: "ALWAYS" }).syncPolicy).toBe("always");
    expect(configFromObject({ sync_policy: "os" }).syncPolicy).toBe("os");
  });
});

describe("paths", () => {
  test("data_dir and log_file resolve against baseDir", () => {
    const cfg = configFromObject({ data_dir: "d", log_file: "l/o.log" }, { baseDir: "/srv/osprey" });
    expect(cfg.dataDir).toBe("/srv/osprey/d");
    expect(cfg.logFile).toBe("/srv/osprey/l/o.log");
  });

  test('log_file "" means <data_dir>/logs/osprey.log', () => {
    const cfg = configFromObject({ data_dir: "/var/lib/osprey", log_file: "" });
    expect(cfg.logFile).toBe("/var/lib/osprey/logs/osprey.log");
  });

  test("absolute paths are kept as they are", () => {
    const cfg = configFromObject({ data_dir: "/a/b", log_file: "/c/d.log" }, { baseDir: "/x" });
    expect(cfg.dataDir).toBe("/a/b");
    expect(cfg.logFile).toBe("/c/d.log");
  });
});

describe("listen_addr", () => {
  const good: [string, string, number][] = [
    ["127.0.0.1:7070", "127.0.0.1", 7070],
    ["0.0.0.0:0", "0.0.0.0", 0],
    ["localhost:65535", "localhost", 65535],
    ["[::1]:7070", "::1", 7070],
    ["[::]:6379", "::", 6379],
    ["[fe80::1%eth0]:7070", "fe80::1%eth0", 7070],
    [":7070", "0.0.0.0", 7070],
  ];
  for (const [addr, host, port] of good) {
    test(`"${addr}" listens on host ${host} port ${port}`, () => {
      const cfg = configFromObject({ listen_addr: addr });
      expect(cfg.listenHost).toBe(host);
      expect(cfg.listenPort).toBe(port);
    });
  }

  const bad = ["127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:70x", "::1:7070", "[::1]", "[localhost]:7070", "host name:7070", "", "1.2.3.4:123456"];
  for (const addr of bad) {
    test(`"${addr}" is rejected naming listen_addr`, () => {
      expect(errorFor({ listen_addr: addr })).toStartWith("listen_addr: expected ");
    });
  }
});

describe("resp_listen_addr", () => {
  test("is off by default and when empty", () => {
    expect(configFromObject({}).respListenHost).toBeNull();
    expect(configFromObject({ resp_listen_addr: "" }).respListenHost).toBeNull();
  });

  test("takes the same host:port forms as listen_addr", () => {
    const cfg = configFromObject({ resp_listen_addr: "[::1]:6379" });
    expect(cfg.respListenHost).toBe("::1");
    expect(cfg.respListenPort).toBe(6379);
  });

  test("a bad address is rejected naming resp_listen_addr", () => {
    expect(errorFor({ resp_listen_addr: "127.0.0.1" })).toStartWith("resp_listen_addr: expected ");
    expect(errorFor({ resp_listen_addr: 6379 })).toStartWith("resp_listen_addr: expected ");
  });
});

describe("metrics_listen_addr", () => {
  test("is off by default", () => {
    expect(configFromObject({}).metricsListenHost).toBeNull();
  });

  test("a bare port, with or without its colon, means loopback", () => {
    for (const addr of ["9187", ":9187"]) {
      const cfg = configFromObject({ metrics_listen_addr: addr });
      expect(cfg.metricsListenHost).toBe("127.0.0.1");
      expect(cfg.metricsListenPort).toBe(9187);
    }
  });

  test("host:port is taken as given", () => {
    const cfg = configFromObject({ metrics_listen_addr: "0.0.0.0:9187" });
    expect(cfg.metricsListenHost).toBe("0.0.0.0");
  });

  test("a bad address is rejected naming metrics_listen_addr", () => {
    expect(errorFor({ metrics_listen_addr: "localhost" })).toStartWith("metrics_listen_addr: expected ");
  });
});

describe("umask", () => {
  test("is three octal digits, an optional leading zero allowed", () => {
    expect(configFromObject({ umask: "027" }).umask).toBe(0o027);
    expect(configFromObject({ umask: "0022" }).umask).toBe(0o022);
  });

  test("anything else is rejected naming umask", () => {
    for (const bad of ["78", "0o77", "rwx", 77]) expect(errorFor({ umask: bad })).toStartWith("umask: expected three octal digits");
  });
});

describe("environment and flags", () => {
  const quiet = { warn: () => {} };

  test("OSPREY_<KEY> sets each key, numbers and booleans parsed from their text", () => {
    const cfg = loadConfig(undefined, { ...quiet, env: { OSPREY_LISTEN_ADDR: "127.0.0.1:7171", OSPREY_MAX_CLIENTS: "12", OSPREY_ENABLE_SNAPSHOT: "false", OSPREY_SYNC_POLICY: "always" } });
    expect(cfg.listenPort).toBe(7171);
    expect(cfg.clientsMax).toBe(12);
    expect(cfg.snapshotEnable).toBe(false);
    expect(cfg.syncPolicy).toBe("always");
  });

  test("a bad environment value is a ConfigError naming the variable and the key", () => {
    expect(() => loadConfig(undefined, { ...quiet, env: { OSPREY_MAX_CLIENTS: "many" } })).toThrow('OSPREY_MAX_CLIENTS: max_clients: expected a positive integer, got "many"');
    expect(() => loadConfig(undefined, { ...quiet, env: { OSPREY_ENABLE_SNAPSHOT: "yes" } })).toThrow('OSPREY_ENABLE_SNAPSHOT: enable_snapshot: expected true or false, got "yes"');
  });

  test("an empty variable counts as unset", () => {
    expect(loadConfig(undefined, { ...quiet, env: { OSPREY_MAX_CLIENTS: "" } }).clientsMax).toBe(defaults.max_clients);
  });

  test("unknown OSPREY_ variables warn once naming them; the CLI's and the tests' own do not", () => {
    const warnings: string[] = [];
    loadConfig(undefined, { warn: (m) => warnings.push(m), env: { OSPREY_MAX_CLIENT: "5", OSPREY_ADDR: "x", OSPREY_TEST_LOG: "stderr", OSPREY_CONFIG: "f" } });
    expect(warnings).toEqual(["unknown OSPREY_* environment variables ignored: OSPREY_MAX_CLIENT"]);
  });

  test("precedence is flag over environment over file over default", () => {
    const dir = mkdtempSync(join(tmpdir(), "osprey-precedence-"));
    try {
      const path = join(dir, "osprey.toml");
      writeFileSync(path, 'listen_addr = "127.0.0.1:7001"\nsync_policy = "os"\nmax_clients = 7\n');
      const env = { OSPREY_LISTEN_ADDR: "127.0.0.1:7002", OSPREY_SYNC_POLICY: "always" };
      const fileOnly = loadConfig(path, quiet);
      expect([fileOnly.listenPort, fileOnly.syncPolicy, fileOnly.clientsMax]).toEqual([7001, "os", 7]);
      const withEnv = loadConfig(path, { ...quiet, env });
      expect([withEnv.listenPort, withEnv.syncPolicy, withEnv.clientsMax]).toEqual([7002, "always", 7]);
      const withFlags = loadConfig(path, { ...quiet, env, flags: { listen: "127.0.0.1:7003", sync: "batch" } });
      expect([withFlags.listenPort, withFlags.syncPolicy, withFlags.clientsMax]).toEqual([7003, "batch", 7]);
      expect(withFlags.batchFsyncMs).toBe(defaults.batch_fsync_ms);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--port replaces only the port of listen_addr, wherever the host came from", () => {
    const cfg = loadConfig(undefined, { ...quiet, env: { OSPREY_LISTEN_ADDR: "[::1]:7002" }, flags: { port: "7004" } });
    expect([cfg.listenHost, cfg.listenPort]).toEqual(["::1", 7004]);
    expect(loadConfig(undefined, { ...quiet, flags: { listen: "127.0.0.2:1", port: "7005" } }).listenHost).toBe("127.0.0.2");
  });

  test("a bad flag value is a ConfigError naming the flag", () => {
    expect(() => loadConfig(undefined, { ...quiet, flags: { port: "70x" } })).toThrow('--port: expected an integer from 0 to 65535, got "70x"');
    expect(() => loadConfig(undefined, { ...quiet, flags: { port: "65536" } })).toThrow("--port: expected an integer from 0 to 65535");
    expect(() => loadConfig(undefined, { ...quiet, flags: { sync: "sometimes" } })).toThrow('--sync: sync_policy: expected one of os, batch, always, got "sometimes"');
    expect(() => loadConfig(undefined, { ...quiet, flags: { listen: "nowhere" } })).toThrow("--listen: listen_addr: expected ");
  });

  test("relative --data-dir resolves against the working directory", () => {
    expect(loadConfig(undefined, { ...quiet, flags: { dataDir: "d1" } }).dataDir).toBe(resolve(process.cwd(), "d1"));
  });
});
