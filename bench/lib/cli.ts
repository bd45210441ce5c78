// Small helpers shared by the bench tools' command lines: strict number options, loopback hosts.

import { isLoopbackHost } from "./loopback.ts";

/** A command-line mistake: the tool prints the message and exits with status 2. */
export class UsageError extends Error {}

/** Parses `--name value` as a number in [min, max]; integers only unless `fraction` is set. */
export function numberOption(
  name: string,
  raw: string | undefined,
  { min, max, fraction = false }: { min: number; max: number; fraction?: boolean },
): number {
  const text = (raw ?? "").trim();
  const value = Number(text);
  if (text === "" || !Number.isFinite(value) || (!fraction && !Number.isInteger(value))) {
    throw new UsageError(`--${name} must be ${fraction ? "a number" : "an integer"}, got ${JSON.stringify(raw)}`);
  }
  if (value < min || value > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** Returns the host to connect to, without brackets; refuses anything that is not loopback. */
export function loopbackHostOption(raw: string): string {
  if (!isLoopbackHost(raw)) {
    throw new UsageError(`--host ${raw} is not a loopback address: the bench only sends traffic to 127.0.0.0/8, ::1 or localhost`);
  }
  const h = raw.trim();
  return h.startsWith("[") ? h.slice(1, -1) : h;
}

/** Rejects options the command does not define (citty would silently ignore a typo like --pipline). */
export function rejectUnknownOptions(rawArgs: string[], known: readonly string[]): void {
  for (const arg of rawArgs) {
    if (arg === "--") break;
    if (!arg.startsWith("--")) continue;
    const name = arg.slice(2).split("=")[0]!;
    const base = name.startsWith("no-") ? name.slice(3) : name;
    if (!known.includes(name) && !known.includes(base) && name !== "help") {
      throw new UsageError(`unknown option --${name} (see --help)`);
    }
  }
}

/** Runs `main`, turning UsageError into a message and exit status 2, anything else into status 1. */
export async function runTool(main: () => Promise<number>): Promise<never> {
  try {
    process.exit(await main());
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
