#!/usr/bin/env bun
// `npm run build`: single executables that run without Bun or node_modules on the machine that runs
// them — dist/osprey (the server, with the native library embedded) and dist/osprey-cli.

import { existsSync, mkdirSync } from "node:fs";
import { join, relative } from "node:path";
import { buildNative, nativeLibrary, nativeStale } from "../native/build.ts";
import { gitHead } from "../version.ts";

const root = join(import.meta.dir, "..", "..");

/** What `buildExecutables` made. */
export interface BuildResult {
  /** Path of the server executable. */
  server: string;
  /** Path of the osprey-cli executable. */
  cli: string;
  /** Why the native library is not embedded (the server then uses its TypeScript fallbacks); null when it is. */
  nativeMissing: string | null;
}

/** Builds the native library when it is missing or older than its source; null when ready, else why not. */
function ensureNative(): string | null {
  // The entry imports the Linux library by name (a static import cannot choose per platform).
  if (process.platform !== "linux") return `the embedded native library is built on Linux only (this is ${process.platform})`;
  if (nativeStale()) {
    const why = buildNative();
    if (why !== null) return why;
  }
  return existsSync(nativeLibrary) ? null : `${relative(root, nativeLibrary)} is missing and native/osprey.c is not there to build it`;
}

/** `bun build --compile entry --outfile outfile`; throws with bun's message when it fails. */
async function compile(entry: string, outfile: string): Promise<void> {
  // The commit is baked in: an executable has no checkout to ask (STATS, INFO and /metrics show it).
  const define = ["--define", `OSPREY_BUILD_COMMIT=${JSON.stringify(gitHead(root) ?? "")}`];
  const proc = Bun.spawn([process.execPath, "build", "--compile", ...define, join(root, entry), "--outfile", outfile], {
    cwd: root,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`bun build --compile ${entry} failed (exit ${code}):\n${err || out}`);
}

/** Builds both executables into `outDir` (default dist/), the native library first when needed. */
export async function buildExecutables(outDir = join(root, "dist")): Promise<BuildResult> {
  mkdirSync(outDir, { recursive: true });
  const nativeMissing = ensureNative();
  // Without the library the plain server entry is compiled: it starts on the TypeScript fallbacks.
  const serverEntry = nativeMissing === null ? "src/executables/osprey.ts" : "src/server.ts";
  const server = join(outDir, "osprey");
  const cli = join(outDir, "osprey-cli");
  await Promise.all([compile(serverEntry, server), compile("src/cli/main.ts", cli)]);
  return { server, cli, nativeMissing };
}

if (import.meta.main) {
  try {
    const started = performance.now();
    const r = await buildExecutables();
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`built ${relative(process.cwd(), r.server)} and ${relative(process.cwd(), r.cli)} in ${seconds} s`);
    if (r.nativeMissing === null) console.log("native library embedded in the server");
    else console.log(`native library NOT embedded (${r.nativeMissing}): the server will use its TypeScript fallbacks`);
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
}
