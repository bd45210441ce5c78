// Test support: start the real server (`bun run src/server.ts`) on 127.0.0.1 port 0 with a
// temporary data_dir, learn its port from its log, and stop it by PID.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const serverEntry = resolve(import.meta.dir, "../../src/server.ts");

export interface RunningServer {
  readonly port: number;
  readonly pid: number;
  readonly dataDir: string;
  readonly proc: ReturnType<typeof Bun.spawn>;
  /** Everything the server printed to stderr so far. */
  log(): string;
  /** SIGTERM, then wait for exit; resolves with the exit code. Removes the data dir. */
  stop(): Promise<number>;
}

function tomlValue(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

/** Starts a real server process; `config` entries override the test defaults. */
export async function startServer(config: Record<string, unknown> = {}): Promise<RunningServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "osprey-test-"));
  const settings: Record<string, unknown> = { listen_addr: "127.0.0.1:0", data_dir: dataDir, ...config };
  const configPath = join(dataDir, "osprey.toml");
  writeFileSync(configPath, Object.entries(settings).map(([k, v]) => `${k} = ${tomlValue(v)}`).join("\n") + "\n");
  const proc = Bun.spawn([process.execPath, "run", serverEntry, "--config", configPath], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let text = "";
  const reader = proc.stderr.getReader();
  const decoder = new TextDecoder();
  let portFound: (port: number) => void;
  let failed: (err: Error) => void;
  const portPromise = new Promise<number>((res, rej) => {
    portFound = res;
    failed = rej;
  });
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
      const m = /listening on \S+:(\d+)/.exec(text);
      if (m) portFound(Number(m[1]));
    }
    failed(new Error(`server exited before listening:\n${text}`));
  })();
  const timer = setTimeout(() => failed(new Error(`server did not start in time:\n${text}`)), 15000);
  const port = await portPromise.finally(() => clearTimeout(timer));
  return {
    port,
    pid: proc.pid,
    dataDir,
    proc,
    log: () => text,
    async stop() {
      if (proc.exitCode === null) process.kill(proc.pid, "SIGTERM");
      const code = await proc.exited;
      rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}
