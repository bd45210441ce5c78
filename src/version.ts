// Osprey's version, from package.json: `osprey --version`, `osprey-cli --version`, STATS and INFO;
// and the git commit the server runs, when it can be known.

import { existsSync } from "node:fs";
import { join } from "node:path";
import pkg from "../package.json" with { type: "json" };

/** The package version, e.g. "0.1.0". */
export const version: string = pkg.version;

// Set by `bun build --define` when the executables are built (src/executables/build.ts).
declare const OSPREY_BUILD_COMMIT: string | undefined;

let known: string | null | undefined;

/**
 * The commit the code comes from: the one the executable was built from, else `git rev-parse HEAD`
 * of the checkout the server runs from (asked once), else null — an npm install, a tarball, no git.
 */
export function commit(): string | null {
  if (known !== undefined) return known;
  known = typeof OSPREY_BUILD_COMMIT === "string" && OSPREY_BUILD_COMMIT !== "" ? OSPREY_BUILD_COMMIT : gitHead(join(import.meta.dir, ".."));
  return known;
}

/** HEAD of the git checkout at `root`, abbreviated to 12 digits; null when there is none or git is missing. */
export function gitHead(root: string): string | null {
  if (!existsSync(join(root, ".git"))) return null;
  try {
    const r = Bun.spawnSync(["git", "-C", root, "rev-parse", "--short=12", "HEAD"], { stdin: "ignore", stdout: "pipe", stderr: "ignore" });
    const text = r.stdout.toString().trim();
    return r.exitCode === 0 && /^[0-9a-f]{7,40}$/.test(text) ? text : null;
  } catch {
    return null;
  }
}
