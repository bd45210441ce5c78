// Which arguments of a request are secrets that MONITOR and SLOWLOG show as "(redacted)", as Redis
// 7.0 shows them: every argument of AUTH, HELLO's user and password after its AUTH, and everything
// after ACL SETUSER (the user name too: its rules may hold passwords). One rule for both readers,
// so a command that gains a secret is redacted everywhere at once.

import { acl, auth, hello } from "./connection.ts";
import type { Route } from "./table.ts";

/** The text shown in place of a redacted argument. */
export const redactedText = "(redacted)";

/**
 * The redacted arguments of a request of `argc` arguments to `route`: [from, to), or null when it
 * has none. `word(t)` is argument t upper-cased ("" when long).
 */
export function redactedRange(route: Route | undefined, argc: number, word: (t: number) => string): readonly [number, number] | null {
  if (route === undefined) return null;
  if (route.run === auth) return [1, argc];
  if (route.run === hello) {
    for (let t = 2; t < argc; ) {
      const w = word(t);
      if (w === "AUTH" && t + 2 < argc) return [t + 1, t + 3];
      if (w === "SETNAME" && t + 1 < argc) t += 2;
      else return null;
    }
    return null;
  }
  if (route.run === acl && argc > 2 && word(1) === "SETUSER") return [2, argc];
  return null;
}
