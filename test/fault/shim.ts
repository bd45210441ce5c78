// Test support for fault injection: builds test/fault/shim.c with the system C compiler (once per
// test process, into a temp dir) and arms and clears its faults through a trigger file. The server
// is started with `env` (LD_PRELOAD and the shim's variables); see shim.c for what each fault does.

import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const source = resolve(import.meta.dir, "shim.c");
let built: { dir: string; lib: string } | null = null;

/** Compiles the shim (once) and returns the shared library's path. */
export function buildShim(): string {
  if (built !== null) return built.lib;
  const dir = mkdtempSync(join(tmpdir(), "osprey-shim-"));
  const lib = join(dir, "shim.so");
  const cc = Bun.spawnSync(["cc", "-shared", "-fPIC", "-O1", "-Wall", "-o", lib, source, "-ldl", "-lpthread"], { stderr: "pipe" });
  if (cc.exitCode !== 0) throw new Error(`cc failed on ${source}:\n${cc.stderr.toString()}`);
  built = { dir, lib };
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return lib;
}

export type FaultErrno = "EIO" | "ENOSPC" | "EROFS" | "EFBIG" | "EDQUOT";
export type FaultCall = "write" | "fallocate" | "fdatasync" | "fsync";

/** One server's faults: files whose path contains `match` fail while armed. */
export class Faults {
  readonly dir: string;
  readonly trigger: string;
  readonly log: string;
  readonly env: Record<string, string>;

  constructor(match: string) {
    this.dir = mkdtempSync(join(tmpdir(), "osprey-fault-"));
    this.trigger = join(this.dir, "trigger");
    this.log = join(this.dir, "faults.log");
    this.env = { LD_PRELOAD: buildShim(), OSPREY_FAULT_MATCH: match, OSPREY_FAULT_TRIGGER: this.trigger, OSPREY_FAULT_LOG: this.log };
  }

  /** Makes `calls` fail with `errno` from now on; `once`: only the first failing call. */
  arm(errno: FaultErrno, calls: FaultCall[], opts: { once?: boolean } = {}): void {
    // Written aside and renamed, so the shim never reads a trigger half-written.
    writeFileSync(`${this.trigger}.tmp`, [errno, ...calls, ...(opts.once ? ["once"] : [])].join(" ") + "\n");
    renameSync(`${this.trigger}.tmp`, this.trigger);
  }

  /** Arms a write fault and waits until the shim has swapped the matching descriptors. */
  async armWrite(errno: "EIO" | "ENOSPC"): Promise<void> {
    const before = this.lines().filter((l) => l.startsWith("armed write ")).length;
    this.arm(errno, ["write"]);
    await this.#until(() => {
      const lines = this.lines();
      const cannot = lines.find((l) => l.startsWith("cannot arm write"));
      if (cannot !== undefined) throw new Error(`the shim ${cannot}`);
      return lines.filter((l) => l.startsWith("armed write ")).length > before;
    }, "the shim to arm the write fault");
  }

  /** Clears every fault; for a write fault, waits until the original descriptors are back. */
  async clear(): Promise<void> {
    const swapped = this.lines().filter((l) => l.startsWith("armed write ")).length;
    const restored = () => this.lines().filter((l) => l.startsWith("cleared write ")).length;
    if (existsSync(this.trigger)) unlinkSync(this.trigger);
    await this.#until(() => restored() >= swapped, "the shim to restore the descriptors");
  }

  get armed(): boolean {
    return existsSync(this.trigger);
  }

  /** What the shim did: "<call> <path>" per failure, "armed write"/"cleared write" per swap. */
  lines(): string[] {
    return existsSync(this.log) ? readFileSync(this.log, "utf8").split("\n").filter((l) => l !== "") : [];
  }

  async #until(done: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; shim log: ${this.lines().join(" | ")}`);
      await Bun.sleep(5);
    }
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
