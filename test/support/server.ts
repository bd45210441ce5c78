// Test support: start the real server (`bun run src/server.ts`) on 127.0.0.1 port 0 with a
// temporary data_dir, learn its port from its log, and stop it by PID. The server's stderr goes
// to a pipe read here (log(), waitForLog()), never to the test's output; it also appends its log
// to <data_dir>/logs/osprey.log. Errors thrown here carry what it logged.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** Absolute path of the server entry, for tests that spawn it themselves. */
export const serverEntry = resolve(import.meta.dir, "../../src/server.ts");

export interface RunningServer {
  readonly port: number;
  readonly pid: number;
  readonly dataDir: string;
  readonly configPath: string;
  readonly proc: ReturnType<typeof Bun.spawn>;
  /** Everything the server printed to stderr so far. */
  log(): string;
  /** Resolves once `pattern` appears in stderr (checked on every chunk); rejects after timeoutMs. */
  waitForLog(pattern: RegExp | string, timeoutMs?: number): Promise<void>;
  /** The server's resident set size now, from /proc/<pid>/status (VmRSS), in bytes. */
  rssBytes(): number;
  /** Sends `signal` and waits for exit; resolves with the exit code. Keeps the data dir. */
  signal(signal: NodeJS.Signals): Promise<number>;
  /** SIGTERM, then wait for exit; resolves with the exit code. Removes the data dir. */
  stop(): Promise<number>;
}

function tomlValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(tomlValue).join(", ")}]`;
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

/** An array of plain objects: written as `[[key]]` tables (after every plain key, as TOML needs). */
function isTableArray(v: unknown): v is Record<string, unknown>[] {
  return Array.isArray(v) && v.length > 0 && v.every((e) => typeof e === "object" && e !== null && !Array.isArray(e));
}

/** Writes an osprey.toml of `settings` into `dir` and returns its path. */
export function writeConfig(dir: string, settings: Record<string, unknown>): string {
  const configPath = join(dir, "osprey.toml");
  const entries = Object.entries(settings);
  const plain = entries.filter(([, v]) => !isTableArray(v)).map(([k, v]) => `${k} = ${tomlValue(v)}`);
  const tables = entries.flatMap(([k, v]) => (isTableArray(v) ? v.map((t) => [`[[${k}]]`, ...Object.entries(t).map(([tk, tv]) => `${tk} = ${tomlValue(tv)}`)].join("\n")) : []));
  writeFileSync(configPath, [...plain, ...tables].join("\n") + "\n");
  return configPath;
}

/** A spawned server process whose stderr is collected as it arrives. */
export interface ServerProcess {
  readonly proc: ReturnType<typeof Bun.spawn>;
  /** Everything printed to stderr so far. */
  stderr(): string;
  /** Resolves once `pattern` appears in stderr; rejects if the process exits first or after timeoutMs. */
  waitFor(pattern: RegExp | string, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Resolves with the exit code and all of stderr; kills the process (SIGKILL) after timeoutMs. */
  exited(timeoutMs?: number): Promise<{ code: number; stderr: string }>;
}

/** Spawns `bun run src/server.ts <args>` in `cwd` (default this process's) and collects its stderr. */
export function spawnServer(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): ServerProcess {
  const proc = Bun.spawn([process.execPath, "run", serverEntry, ...args], {
    cwd: opts.cwd,
    env: opts.env === undefined ? undefined : { ...process.env, ...opts.env },
    stdin: "ignore",
    stdout: "pipe", // unused: the server logs to stderr
    stderr: "pipe",
  });
  let text = "";
  let ended = false;
  let listeners: (() => void)[] = [];
  const notify = () => {
    const l = listeners;
    listeners = [];
    for (const f of l) f();
  };
  const done = (async () => {
    const reader = proc.stderr.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      notify();
    }
    ended = true;
    notify();
  })();

  return {
    proc,
    stderr: () => text,
    async waitFor(pattern, timeoutMs = 15000) {
      const re = typeof pattern === "string" ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) : pattern;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(text);
        if (m) return m;
        if (ended) throw new Error(`server exited before printing ${re}:\n${text}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`server did not print ${re} in ${timeoutMs}ms:\n${text}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          listeners.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
    async exited(timeoutMs = 15000) {
      const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
      const code = await proc.exited;
      clearTimeout(timer);
      await done;
      return { code, stderr: text };
    },
  };
}

/** The VmRSS of a process, in bytes. */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/**
 * Starts a real server process; `config` entries override the test defaults. `dataDir` reuses a
 * directory (a restart after a crash); `args` are extra command-line flags (e.g. --repair).
 */
export async function startServer(
  config: Record<string, unknown> = {},
  opts: { dataDir?: string; args?: string[]; env?: Record<string, string> } = {},
): Promise<RunningServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "osprey-test-"));
  const configPath = writeConfig(dataDir, { listen_addr: "127.0.0.1:0", data_dir: dataDir, ...config });
  const server = spawnServer(["--config", configPath, ...(opts.args ?? [])], { env: opts.env });
  const { proc } = server;
  let port: number;
  try {
    port = Number((await server.waitFor(/listening on \S+:(\d+)/))[1]);
  } catch (err) {
    proc.kill("SIGKILL");
    await proc.exited;
    if (opts.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const signal = async (sig: NodeJS.Signals) => {
    if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid, sig);
    return (await server.exited()).code;
  };
  return {
    port,
    pid: proc.pid,
    dataDir,
    configPath,
    proc,
    log: server.stderr,
    async waitForLog(pattern, timeoutMs) {
      await server.waitFor(pattern, timeoutMs);
    },
    rssBytes: () => rssOf(proc.pid),
    signal,
    async stop() {
      const code = await signal("SIGTERM");
      rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}
