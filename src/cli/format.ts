// How osprey-cli prints replies: raw (the default), --json, and the prompt's redis-cli-like form.
// Values are bytes: anything that is not clean text is shown escaped, never sent raw to a terminal.

import type { Entry } from "../client/index.ts";
import type { Reply } from "./execute.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The value as text when it is valid UTF-8 without control characters; null otherwise. */
export function cleanText(b: Uint8Array): string | null {
  let text: string;
  try {
    text = utf8.decode(b);
  } catch {
    return null;
  }
  // C0 controls, DEL and C1 controls could move the cursor or change the terminal's state.
  return /[\u0000-\u001f\u007f-\u009f]/.test(text) ? null : text;
}

const hex = (c: number) => `\\x${c.toString(16).padStart(2, "0")}`;

/**
 * The value in double quotes with every byte that is not printable escaped: `\n`, `\r`, `\t`,
 * `\"`, `\\` and `\xNN` (as redis-cli). Valid UTF-8 text stays readable.
 */
export function quoted(b: Uint8Array): string {
  let text: string;
  try {
    text = utf8.decode(b);
  } catch {
    // Not UTF-8: escape byte by byte.
    let out = '"';
    for (const c of b) out += escapeChar(String.fromCharCode(c), c >= 0x80);
    return out + '"';
  }
  let out = '"';
  for (const ch of text) out += escapeChar(ch, false);
  return out + '"';
}

function escapeChar(ch: string, forceHex: boolean): string {
  const c = ch.codePointAt(0)!;
  if (forceHex) return hex(c);
  switch (ch) {
    case "\n":
      return "\\n";
    case "\r":
      return "\\r";
    case "\t":
      return "\\t";
    case '"':
      return '\\"';
    case "\\":
      return "\\\\";
  }
  if (c < 0x20 || c === 0x7f) return hex(c);
  if (c >= 0x80 && c <= 0x9f) return `\\u${c.toString(16).padStart(4, "0")}`;
  return ch;
}

/** Clean text as it is, anything else quoted and escaped: safe for a terminal and one line long. */
export function safe(b: Uint8Array): string {
  return cleanText(b) ?? quoted(b);
}

/** JSON text of `v` where bigints are written as exact JSON numbers. */
export function toJson(v: unknown): string {
  // Each bigint becomes a marked string first; the random tag keeps user strings from matching.
  const tag = `bigint${Math.random().toString(36).slice(2)}_`;
  const marks: string[] = [];
  const text = JSON.stringify(v, (_k, x) => {
    if (typeof x !== "bigint") return x;
    marks.push(x.toString());
    return `${tag}${marks.length - 1}`;
  });
  return text.replace(new RegExp(`"${tag}(\\d+)"`, "g"), (_m, i: string) => marks[Number(i)]!);
}

/** An entry as JSON fields: `value` when it is UTF-8 text, else `valueBase64`. */
export function entryJson(key: Uint8Array, e: Entry): Record<string, unknown> {
  let value: Record<string, string>;
  try {
    value = { value: utf8.decode(e.value) };
  } catch {
    value = { valueBase64: Buffer.from(e.value).toString("base64") };
  }
  return { key: Buffer.from(key).toString("utf8"), ...value, version: e.version, expiresAtMs: e.expiresAtMs };
}

/** Where printed text goes: stdout's bytes, and whether it is a terminal. */
export interface Out {
  write(data: string | Uint8Array): void;
  readonly isTTY: boolean;
}

/**
 * The default output: values as their bytes (to a terminal escaped, with a newline), numbers and
 * statuses as a line, MGET one line per key ((nil) when missing), STATS `name=value` lines.
 */
export function printRaw(r: Reply, out: Out): void {
  switch (r.type) {
    case "status":
      return out.write(`${r.text}\n`);
    case "integer":
      return out.write(`${r.value}\n`);
    case "boolean":
      return out.write(r.value ? "1\n" : "0\n");
    case "entry":
      // To a pipe or file the value's exact bytes, so `get k > f` and `set k - < f` round-trip.
      if (out.isTTY) out.write(`${safe(r.entry.value)}\n`);
      else out.write(r.entry.value);
      return;
    case "entries":
      return out.write(r.entries.map((e) => (e === null ? "(nil)" : safe(e.value)) + "\n").join(""));
    case "fields":
      return out.write(Object.entries(r.fields).map(([k, v]) => `${k}=${v}\n`).join(""));
    case "notFound":
      return; // said on stderr by the caller
    case "keys":
      return out.write(r.keys.map((k) => `${safe(k)}\n`).join(""));
  }
}

/** --json: one JSON value per command, on one line. */
export function printJson(r: Reply, out: Out): void {
  let v: unknown;
  switch (r.type) {
    case "status":
      v = { reply: r.text };
      break;
    case "integer":
    case "boolean":
      v = { [r.field]: r.value };
      break;
    case "entry":
      v = entryJson(r.key, r.entry);
      break;
    case "entries":
      v = r.entries.map((e, i) => (e === null ? null : entryJson(r.keys[i]!, e)));
      break;
    case "fields":
      v = Object.fromEntries(
        Object.entries(r.fields).map(([k, x]) => [k, /^-?\d{1,15}$/.test(x) ? Number(x) : x]),
      );
      break;
    case "notFound":
      return;
    case "keys":
      v = { keys: r.keys.map((k) => safe(k)) };
      break;
  }
  out.write(toJson(v) + "\n");
}

/** The prompt's form, like redis-cli: quoted values, (integer) n, (nil), numbered MGET lines. */
export function formatRepl(r: Reply): string {
  switch (r.type) {
    case "status":
      return r.text;
    case "integer":
      return `(integer) ${r.value}`;
    case "boolean":
      return `(integer) ${r.value ? 1 : 0}`;
    case "entry":
      return quoted(r.entry.value);
    case "entries":
      return r.entries.map((e, i) => `${i + 1}) ${e === null ? "(nil)" : quoted(e.value)}`).join("\n");
    case "fields":
      return Object.entries(r.fields).map(([k, v]) => `${k}=${v}`).join("\n");
    case "notFound":
      return "(nil)";
    case "keys":
      return r.keys.length === 0 ? "(empty array)" : r.keys.map((k, i) => `${i + 1}) ${quoted(k)}`).join("\n");
  }
}
