// Test support for osprey-cli: run it as a process and collect stdout (as bytes), stderr and status.

import { createServer } from "node:net";
import { resolve } from "node:path";

/** Absolute path of the osprey-cli entry. */
export const cliEntry = resolve(import.meta.dir, "../../src/cli/main.ts");

/** The checkout's root folder. */
export const root = resolve(import.meta.dir, "../..");

export interface CliResult {
  /** Exit status. */
  code: number;
  /** stdout as bytes. */
  out: Buffer;
  /** stdout as UTF-8 text. */
  stdout: string;
  stderr: string;
}

/**
 * The environment of a child process: this one's, without OSPREY_ADDR and without the npm_* variables
 * an enclosing `npm test` sets (a nested npm would read them as its own configuration).
 */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k === "OSPREY_ADDR" || /^npm_/i.test(k) || k === "INIT_CWD") continue;
    env[k] = v;
  }
  return { ...env, OSPREY_CLI_HISTORY: "", NO_COLOR: "1", ...extra };
}

/** Collects a finished process's output. */
export async function collect(proc: ReturnType<typeof Bun.spawn>): Promise<CliResult> {
  const [out, stderr, code] = await Promise.all([
    new Response(proc.stdout as ReadableStream).arrayBuffer(),
    new Response(proc.stderr as ReadableStream).text(),
    proc.exited,
  ]);
  const buf = Buffer.from(out);
  return { code, out: buf, stdout: buf.toString("utf8"), stderr };
}

/** Runs `osprey-cli <args>` with Bun; `stdin` is piped in when given. */
export async function cli(args: string[], opts: { stdin?: string | Uint8Array; env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  const proc = Bun.spawn([process.execPath, cliEntry, ...args], {
    cwd: opts.cwd ?? root,
    env: cleanEnv(opts.env),
    stdin: opts.stdin === undefined ? "ignore" : new Blob([opts.stdin]),
    stdout: "pipe",
    stderr: "pipe",
  });
  return collect(proc);
}

/** A loopback port nothing listens on (it was free a moment ago). */
export async function unusedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
