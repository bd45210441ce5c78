// Test support: data-directory files built byte by byte from docs/FORMAT.md,
// independently of src/persistence (own CRC, DataView encoding) — the way the original Go Osprey
// would have written them. Recovery must read these.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { setLog, type Log } from "../../src/log.ts";

/** Bitwise CRC32C, the slow obvious way: a reference independent of src/native. */
export function crc32cRef(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of b) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

const enc = new TextEncoder();
const bytesOf = (v: string | Uint8Array) => (typeof v === "string" ? enc.encode(v) : v);

export interface FixtureRecord {
  type: number; // 0 SET, 1 DEL, 2 EXPIRE, 3 batch, 4 clear, others unknown
  key?: string | Uint8Array;
  value?: string | Uint8Array;
  expiryMs?: number;
  version?: number | bigint;
}

/** One WAL record: magic u32 · format u16 · type u8 · key_len u32 · value_len u32 · expiry i64 · version u64 · key · value · crc. */
export function walRecord(r: FixtureRecord): Uint8Array {
  const key = bytesOf(r.key ?? "");
  const value = bytesOf(r.value ?? "");
  const out = new Uint8Array(31 + key.length + value.length + 4);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0x4f535057, true);
  dv.setUint16(4, 1, true);
  dv.setUint8(6, r.type);
  dv.setUint32(7, key.length, true);
  dv.setUint32(11, value.length, true);
  dv.setBigInt64(15, BigInt(r.expiryMs ?? -1), true);
  dv.setBigUint64(23, BigInt(r.version ?? 0), true);
  out.set(key, 31);
  out.set(value, 31 + key.length);
  dv.setUint32(31 + key.length + value.length, crc32cRef(out.subarray(6, 31 + key.length + value.length)), true);
  return out;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface FixtureEntry {
  key: string | Uint8Array;
  value: string | Uint8Array;
  expiryMs?: number;
  version?: number;
}

/** A snapshot: magic u32 · format u16 · count u64, then entries key_len · value_len · expiry · version · key · value · crc. */
export function snapshotFile(entries: FixtureEntry[], count = entries.length): Uint8Array {
  const parts: Uint8Array[] = [];
  const head = new Uint8Array(14);
  const hv = new DataView(head.buffer);
  hv.setUint32(0, 0x4f535053, true);
  hv.setUint16(4, 1, true);
  hv.setBigUint64(6, BigInt(count), true);
  parts.push(head);
  for (const e of entries) {
    const key = bytesOf(e.key);
    const value = bytesOf(e.value);
    const out = new Uint8Array(24 + key.length + value.length + 4);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, key.length, true);
    dv.setUint32(4, value.length, true);
    dv.setBigInt64(8, BigInt(e.expiryMs ?? -1), true);
    dv.setBigUint64(16, BigInt(e.version ?? 1), true);
    out.set(key, 24);
    out.set(value, 24 + key.length);
    dv.setUint32(24 + key.length + value.length, crc32cRef(out.subarray(0, 24 + key.length + value.length)), true);
    parts.push(out);
  }
  return concat(parts);
}

export const walFile = (i: number) => `wal-${String(i).padStart(8, "0")}.oswal`;
export const snapFile = (i: number) => `snap-${String(i).padStart(8, "0")}.osnap`;

export function writeManifest(dir: string, snap: number, nextWal: number): void {
  writeFileSync(join(dir, "MANIFEST.json"), JSON.stringify({ version: 1, snap: snapFile(snap), next_wal: walFile(nextWal), created_ms: 1700000000000 }));
}

/**
 * Captures every line logged through the shared `log` until `restore()`, so a test that provokes a
 * warning asserts on it instead of printing it. `take(re)` removes and returns the lines matching
 * `re`; whatever warning or error is left at the end was not expected.
 */
export function captureLog(): { lines: string[]; take(re: RegExp): string[]; unexpected(): string[]; restore(): void } {
  const lines: string[] = [];
  const logger: Log = {
    debug: (m) => void lines.push(`DEBUG ${m}`),
    info: (m) => void lines.push(`INFO ${m}`),
    warn: (m) => void lines.push(`WARN ${m}`),
    error: (m) => void lines.push(`ERROR ${m}`),
    slow: () => {},
    close: () => Promise.resolve(),
  };
  const previous = setLog(logger);
  return {
    lines,
    take(re) {
      const taken = lines.filter((l) => re.test(l));
      for (let i = lines.length - 1; i >= 0; i--) if (re.test(lines[i]!)) lines.splice(i, 1);
      return taken;
    },
    unexpected: () => lines.filter((l) => l.startsWith("WARN ") || l.startsWith("ERROR ")),
    restore: () => void setLog(previous),
  };
}
