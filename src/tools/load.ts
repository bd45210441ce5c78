// `osprey load FILE DATA_DIR`: fills a new data directory from JSON Lines as `osprey dump` writes
// them (FILE "-" reads stdin): every line is checked before anything is written, then the keys go
// to snap-00000001.osnap with a manifest naming it (writeSnapshotNow, the repair's writer). The
// input is read a chunk at a time; a line longer than loadLineBytesMax is refused.

import { existsSync, mkdirSync, readdirSync, rmdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { expiryMsMax, keyBytesMaxLimit, loadLineBytesMax, valueBytesMaxLimit } from "../constants.ts";
import { noExpiry, Store } from "../engine/store.ts";
import { lockName } from "../persistence/lock.ts";
import { snapName } from "../persistence/format.ts";
import { writeSnapshotNow } from "../persistence/snapshot.ts";
import { exitStatus, print, ToolError, withLock } from "./common.ts";

export const usage = "load FILE DATA_DIR  fill the new DATA_DIR from JSON Lines as dump writes them (FILE - is stdin)";
export const arity = 2;

export async function run([file, dir]: string[]): Promise<number> {
  if (file !== "-" && !existsSync(file!)) throw new ToolError(`${file}: no such file`);
  if (existsSync(dir!)) {
    const held = readdirSync(dir!);
    if (held.length > 0) throw new ToolError(`${dir} is not a new data directory (it holds ${held.slice(0, 5).join(", ")}${held.length > 5 ? ", …" : ""}): load only into a missing or empty one`);
  }
  const created = !existsSync(dir!);
  mkdirSync(dir!, { recursive: true, mode: 0o700 });
  try {
    return await withLock(dir!, async () => {
      const store = new Store();
      const now = Date.now();
      const counts = { lines: 0, expired: 0 };
      const input = file === "-" ? Bun.stdin.stream() : Bun.file(file!).stream();
      for await (const line of lines(input)) {
        counts.lines++;
        if (line.length === 0) continue;
        const e = parseLine(line, counts.lines);
        if (e.expiry !== noExpiry && e.expiry <= now) {
          counts.expired++;
          continue;
        }
        store.load(e.key, 0, e.key.length, e.value, 0, e.value.length, e.expiry, e.version);
      }
      const written = writeSnapshotNow(dir!, store, 1, 1, now);
      print(`${dir}: ${written} keys loaded into ${snapName(1)} from ${counts.lines} lines${counts.expired > 0 ? ` (${counts.expired} already expired, left out)` : ""}\n`);
      return exitStatus.ok;
    });
  } catch (e) {
    // Nothing but the LOCK was written before the snapshot: leave the directory as it was found.
    if (!existsSync(join(dir!, snapName(1)))) {
      try {
        unlinkSync(join(dir!, lockName));
        if (created) rmdirSync(dir!);
      } catch {}
    }
    throw e;
  }
}

interface LoadEntry {
  key: Buffer;
  value: Buffer;
  version: number;
  expiry: number;
}

/** One line of dump's output, checked field by field; a ToolError names the line and the field. */
function parseLine(line: Buffer, n: number): LoadEntry {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line.toString("utf8"));
  } catch (e) {
    throw new ToolError(`line ${n}: not JSON (${(e as Error).message})`);
  }
  if (o === null || typeof o !== "object" || Array.isArray(o)) throw new ToolError(`line ${n}: not a JSON object`);
  const key = bytesField(o, "key", n);
  const value = bytesField(o, "value", n);
  if (key.length === 0 || key.length > keyBytesMaxLimit) throw new ToolError(`line ${n}: the key is ${key.length} bytes, outside 1..${keyBytesMaxLimit}`);
  if (value.length > valueBytesMaxLimit) throw new ToolError(`line ${n}: the value is ${value.length} bytes, over ${valueBytesMaxLimit}`);
  const version = o.version;
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 0) throw new ToolError(`line ${n}: "version" must be an integer from 0 to 2^53`);
  const expiry = o.expiry ?? noExpiry;
  // Past 2^53 an expiry is a double (RESP's PEXPIREAT allows up to 2^63): dump writes it as its shortest decimal.
  if (typeof expiry !== "number" || !Number.isInteger(expiry) || expiry < noExpiry || expiry > expiryMsMax) throw new ToolError(`line ${n}: "expiry" must be -1 or an absolute time in epoch milliseconds`);
  return { key, value, version, expiry };
}

function bytesField(o: Record<string, unknown>, name: "key" | "value", n: number): Buffer {
  const text = o[name];
  if (typeof text !== "string") throw new ToolError(`line ${n}: "${name}" must be a string`);
  const encoding = o[`${name}_encoding`] ?? "utf8";
  if (encoding === "utf8") return Buffer.from(text, "utf8");
  if (encoding !== "base64") throw new ToolError(`line ${n}: "${name}_encoding" must be "base64" or "utf8"`);
  const b = Buffer.from(text, "base64");
  // Buffer.from skips what is not base64; a value that does not round-trip was not written by dump.
  if (b.toString("base64") !== text) throw new ToolError(`line ${n}: "${name}" is not canonical base64`);
  return b;
}

/** The lines of a byte stream (without their newline), each at most loadLineBytesMax bytes. */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let partBytes = 0;
  let n = 0;
  for await (const chunk of stream) {
    const b = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let from = 0;
    for (let nl = b.indexOf(10, from); nl >= 0; nl = b.indexOf(10, from)) {
      n++;
      if (partBytes + (nl - from) > loadLineBytesMax) throw new ToolError(`line ${n}: longer than ${loadLineBytesMax} bytes`);
      yield parts.length === 0 ? b.subarray(from, nl) : Buffer.concat([...parts, b.subarray(from, nl)]);
      parts = [];
      partBytes = 0;
      from = nl + 1;
    }
    if (from < b.length) {
      partBytes += b.length - from;
      if (partBytes > loadLineBytesMax) throw new ToolError(`line ${n + 1}: longer than ${loadLineBytesMax} bytes`);
      parts.push(Buffer.from(b.subarray(from)));
    }
  }
  if (partBytes > 0) yield Buffer.concat(parts);
}
