// Redis's glob patterns over bytes (SCAN/KEYS MATCH, and later ACL key patterns): `*`, `?`,
// `[abc]`, `[^a-z]`, and `\x` for a literal x, with Redis 7's rules for the odd cases.

/** Deeper recursion (one level per `*`) than this matches nothing, as Redis 7 bounds its stack. */
const nestingMax = 1000;

/** A byte as C's signed `char`: Redis compares range bounds that way on x86. */
function signed(b: number): number {
  return (b << 24) >> 24;
}

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/**
 * Whether the bytes s[ss..se) match the pattern p[ps..pe), exactly as Redis's stringmatchlen:
 * a `[` class without its `]` runs to the end of the pattern, `[a-` takes `-` literally, a range
 * written backwards (`[z-a]`) is swapped, and a trailing `\` matches a backslash. Work is
 * bounded by pattern × string length: once the rest of a pattern after `*` matched nowhere, no
 * longer match of an earlier `*` is tried (Redis's skipLongerMatches).
 */
export function globMatch(p: Uint8Array, ps: number, pe: number, s: Uint8Array, ss: number, se: number, nocase = false): boolean {
  const skip = { longer: false };
  return matchFrom(p, ps, pe, s, ss, se, nocase, skip, 0);
}

/** `globMatch` over latin1 strings: for tests and admin commands. */
export function globMatchText(pattern: string, text: string, nocase = false): boolean {
  const p = Buffer.from(pattern, "latin1");
  const s = Buffer.from(text, "latin1");
  return globMatch(p, 0, p.length, s, 0, s.length, nocase);
}

/** Whether the pattern matches every string (`*` alone), so a scan need not test it. */
export function globMatchesAll(p: Uint8Array, ps: number, pe: number): boolean {
  return pe - ps === 1 && p[ps] === 42;
}

function matchFrom(p: Uint8Array, pi: number, pe: number, s: Uint8Array, si: number, se: number, nocase: boolean, skip: { longer: boolean }, nesting: number): boolean {
  if (nesting > nestingMax) return false;
  while (pi < pe && si < se) {
    const c = p[pi]!;
    if (c === 42) {
      // `*`: runs of stars are one star; a last star matches the rest.
      while (pi + 1 < pe && p[pi + 1] === 42) pi++;
      if (pi + 1 === pe) return true;
      for (; si < se; si++) {
        if (matchFrom(p, pi + 1, pe, s, si, se, nocase, skip, nesting + 1)) return true;
        if (skip.longer) return false;
      }
      skip.longer = true;
      return false;
    } else if (c === 63) {
      si++;
    } else if (c === 91) {
      pi++;
      const not = pi < pe && p[pi] === 94;
      if (not) pi++;
      let match = false;
      const sc = s[si]!;
      for (;;) {
        if (pi < pe && p[pi] === 92 && pe - pi >= 2) {
          pi++;
          if (p[pi] === sc) match = true;
        } else if (pi < pe && p[pi] === 93) {
          break;
        } else if (pi >= pe) {
          pi--; // the class ran to the end: step back so the advance below ends the pattern
          break;
        } else if (pe - pi >= 3 && p[pi + 1] === 45) {
          let start = signed(p[pi]!);
          let end = signed(p[pi + 2]!);
          let x = signed(sc);
          if (start > end) [start, end] = [end, start];
          if (nocase) {
            start = lower(start);
            end = lower(end);
            x = lower(x);
          }
          pi += 2;
          if (x >= start && x <= end) match = true;
        } else if (nocase ? lower(p[pi]!) === lower(sc) : p[pi] === sc) {
          match = true;
        }
        pi++;
      }
      if (not) match = !match;
      if (!match) return false;
      si++;
    } else {
      if (c === 92 && pe - pi >= 2) pi++;
      const pc = p[pi]!;
      if (nocase ? lower(pc) !== lower(s[si]!) : pc !== s[si]) return false;
      si++;
    }
    pi++;
    if (si === se) {
      while (pi < pe && p[pi] === 42) pi++;
      break;
    }
  }
  return pi === pe && si === se;
}
