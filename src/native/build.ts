// Builds native/osprey.c into build/native/ with the system C compiler. Run by `npm install`
// (package.json "install") and again at start-up when the library is missing or older than its
// source. Never fails the caller: without a compiler Osprey runs on its TypeScript fallbacks.

import { existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

const root = join(import.meta.dir, "..", "..");
export const nativeSource = join(root, "native", "osprey.c");
export const nativeLibrary = join(root, "build", "native", process.platform === "darwin" ? "libosprey.dylib" : "libosprey.so");

/** True when the library is missing or older than its source (and the source is here to build from). */
export function nativeStale(): boolean {
  if (!existsSync(nativeSource)) return false;
  if (!existsSync(nativeLibrary)) return true;
  return statSync(nativeLibrary).mtimeMs < statSync(nativeSource).mtimeMs;
}

/** Compiles the library; returns null on success or why it could not be built. */
export function buildNative(): string | null {
  const cc = process.env.CC || "cc";
  mkdirSync(dirname(nativeLibrary), { recursive: true });
  // Build beside the target and rename, so a concurrent start never loads a half-written file.
  const tmp = `${nativeLibrary}.${process.pid}.tmp`;
  let result;
  try {
    result = Bun.spawnSync([cc, "-O2", "-fPIC", "-shared", "-o", tmp, nativeSource], { stdout: "pipe", stderr: "pipe" });
  } catch (e) {
    return `cannot run the C compiler "${cc}": ${(e as Error).message}`;
  }
  if (result.exitCode !== 0) {
    const why = result.stderr.toString().trim().split("\n").slice(0, 3).join(" | ");
    return `"${cc}" failed (exit ${result.exitCode}): ${why}`;
  }
  renameSync(tmp, nativeLibrary);
  return null;
}

if (import.meta.main) {
  const why = nativeStale() ? buildNative() : null;
  if (why === null) console.log(`osprey: native library ready (${nativeLibrary})`);
  else console.log(`osprey: native library not built, using the TypeScript fallback: ${why}`);
}
