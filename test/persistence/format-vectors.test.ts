// docs/FORMAT.md's test vectors, read from the document itself: format.ts must encode exactly the
// bytes each hex block shows and decode them back, an independent encoder (fixtures.ts) and the
// keyspace's own snapshot encoder must agree, so the document and the code cannot drift apart.

import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Store } from "../../src/engine/store.ts";
import { crc32c } from "../../src/native/index.ts";
import {
  batchItemsStart,
  brokenName,
  checkBatch,
  encodeClear,
  encodeDel,
  encodeEntry,
  encodeExpire,
  encodeSet,
  newEntryView,
  newRecordView,
  parseEntry,
  parseManifest,
  parseRecord,
  parseSnapHeader,
  putSnapHeader,
  RecordType,
  sealBatch,
  sealEntry,
  serializeManifest,
  snapHeaderBytes,
  snapName,
  tmpName,
  walName,
  type RecordView,
} from "../../src/persistence/format.ts";
import { concat, crc32cRef, snapshotFile, walRecord } from "./fixtures.ts";

const doc = readFileSync(join(import.meta.dir, "../../docs/FORMAT.md"), "utf8");

/** Every fenced block with an info string "<kind> <name>": its kind and body. */
function blocks(): Map<string, { kind: string; body: string }> {
  const out = new Map<string, { kind: string; body: string }>();
  for (const m of doc.matchAll(/^```(\w+) ([\w-]+)\n([\s\S]*?)^```$/gm)) {
    expect(out.has(m[2]!)).toBe(false);
    out.set(m[2]!, { kind: m[1]!, body: m[3]! });
  }
  return out;
}

/** A hex block's bytes: the hex pairs before each line's `#`. */
function hexBytes(body: string): Uint8Array {
  const bytes: number[] = [];
  for (const line of body.split("\n")) {
    for (const token of line.split("#")[0]!.trim().split(/\s+/)) {
      if (token === "") continue;
      expect(token).toMatch(/^[0-9a-f]{2}$/);
      bytes.push(parseInt(token, 16));
    }
  }
  return new Uint8Array(bytes);
}

function vector(name: string): Uint8Array {
  const b = blocks().get(name);
  if (b === undefined || b.kind !== "hex") throw new Error(`docs/FORMAT.md has no hex block "${name}"`);
  return hexBytes(b.body);
}

const enc = new TextEncoder();
const text = (b: Uint8Array, s: number, n: number) => Buffer.from(b.subarray(s, s + n)).toString("latin1");

/** Encodes at a non-zero offset into a dirty buffer, so neither a zero start nor zeroed memory hides a bug. */
function encoded(write: (b: Uint8Array, at: number) => number): Uint8Array {
  const b = new Uint8Array(4096).fill(0xaa);
  const at = 7;
  return b.slice(at, write(b, at));
}

function decoded(bytes: Uint8Array): RecordView {
  const rec = newRecordView();
  expect(parseRecord(bytes, 0, bytes.length, rec)).toBeNull();
  expect(rec.bytes).toBe(bytes.length);
  return rec;
}

const key = enc.encode("greeting");
const value = enc.encode("hello");
const expiryMs = 1700000000000;

describe("docs/FORMAT.md test vectors", () => {
  test("the document holds exactly the vectors this test checks", () => {
    expect([...blocks().keys()].sort()).toEqual(["file-names", "manifest", "snapshot", "wal-batch", "wal-clear", "wal-clear-batch", "wal-del", "wal-expire", "wal-set"]);
  });

  test('CRC32C("123456789") is the check value the document states', () => {
    const m = /CRC32C\("123456789"\) = 0x([0-9A-F]{8})/.exec(doc);
    expect(m).not.toBeNull();
    const digits = enc.encode("123456789");
    expect(crc32c(digits, 0, digits.length)).toBe(parseInt(m![1]!, 16));
    expect(crc32cRef(digits)).toBe(0xe3069283);
  });

  test("every crc a hex block names is the value of the bytes on its line", () => {
    let seen = 0;
    for (const { kind, body } of blocks().values()) {
      if (kind !== "hex") continue;
      for (const line of body.split("\n")) {
        const m = /#.*crc 0x([0-9A-F]{8})/.exec(line);
        if (m === null) continue;
        const b = hexBytes(line);
        expect(b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)).toBe(parseInt(m[1]!, 16) | 0);
        seen++;
      }
    }
    expect(seen).toBe(12);
  });

  test("a SET record encodes to the document's bytes and decodes back to its fields", () => {
    const bytes = vector("wal-set");
    expect(encoded((b, at) => encodeSet(b, at, key, 0, key.length, value, 0, value.length, expiryMs, 3))).toEqual(bytes);
    expect(walRecord({ type: 0, key: "greeting", value: "hello", expiryMs, version: 3 })).toEqual(bytes);
    const rec = decoded(bytes);
    expect([rec.type, text(bytes, rec.keyStart, rec.keyLen), text(bytes, rec.valueStart, rec.valueLen), rec.expiryMs, rec.version]).toEqual([RecordType.Set, "greeting", "hello", expiryMs, 3]);
  });

  test("a DEL record encodes to the document's bytes and decodes back to its fields", () => {
    const bytes = vector("wal-del");
    expect(encoded((b, at) => encodeDel(b, at, key, 0, key.length))).toEqual(bytes);
    expect(walRecord({ type: 1, key: "greeting" })).toEqual(bytes);
    const rec = decoded(bytes);
    expect([rec.type, text(bytes, rec.keyStart, rec.keyLen), rec.valueLen, rec.expiryMs, rec.version]).toEqual([RecordType.Del, "greeting", 0, -1, 0]);
  });

  test("an EXPIRE record encodes to the document's bytes and decodes back to its fields", () => {
    const bytes = vector("wal-expire");
    expect(encoded((b, at) => encodeExpire(b, at, key, 0, key.length, expiryMs + 60000, 3))).toEqual(bytes);
    expect(walRecord({ type: 2, key: "greeting", expiryMs: expiryMs + 60000, version: 3 })).toEqual(bytes);
    const rec = decoded(bytes);
    expect([rec.type, text(bytes, rec.keyStart, rec.keyLen), rec.valueLen, rec.expiryMs, rec.version]).toEqual([RecordType.Expire, "greeting", 0, expiryMs + 60000, 3]);
  });

  test("a batch of two SETs encodes to the document's bytes and decodes back to both items", () => {
    const bytes = vector("wal-batch");
    const a = enc.encode("a1");
    const b22 = enc.encode("b22");
    expect(
      encoded((b, at) => {
        let p = batchItemsStart(at);
        p = encodeSet(b, p, a, 0, 1, a, 1, 2, -1, 1);
        p = encodeSet(b, p, b22, 0, 1, b22, 1, 3, -1, 2);
        return sealBatch(b, at, p, 2);
      }),
    ).toEqual(bytes);
    const items = [walRecord({ type: 0, key: "a", value: "1", version: 1 }), walRecord({ type: 0, key: "b", value: "22", version: 2 })];
    expect(walRecord({ type: 3, value: concat(items), version: 2 })).toEqual(bytes);
    const rec = decoded(bytes);
    expect([rec.type, rec.keyLen, rec.expiryMs, rec.version]).toEqual([RecordType.Batch, 0, -1, 2]);
    expect(checkBatch(bytes, rec, newRecordView())).toBeNull();
    const item = newRecordView();
    const seen: string[] = [];
    for (let at = rec.valueStart; at < rec.valueStart + rec.valueLen; at += item.bytes) {
      expect(parseRecord(bytes, at, rec.valueStart + rec.valueLen, item)).toBeNull();
      seen.push(`${item.type} ${text(bytes, item.keyStart, item.keyLen)}=${text(bytes, item.valueStart, item.valueLen)} v${item.version}`);
    }
    expect(seen).toEqual(["0 a=1 v1", "0 b=22 v2"]);
  });

  test("a clear record encodes to the document's bytes and decodes back", () => {
    const bytes = vector("wal-clear");
    expect(encoded((b, at) => encodeClear(b, at))).toEqual(bytes);
    expect(walRecord({ type: 4 })).toEqual(bytes);
    const rec = decoded(bytes);
    expect([rec.type, rec.keyLen, rec.valueLen, rec.expiryMs, rec.version]).toEqual([RecordType.Clear, 0, 0, -1, 0]);
  });

  test("an EXEC with a FLUSHALL encodes to the document's CLEAR_BATCH, which checks with its CLEAR item and no other batch type does", () => {
    const bytes = vector("wal-clear-batch");
    const a = enc.encode("a1");
    const b22 = enc.encode("b22");
    expect(
      encoded((b, at) => {
        let p = batchItemsStart(at);
        p = encodeSet(b, p, a, 0, 1, a, 1, 2, -1, 1);
        p = encodeClear(b, p);
        p = encodeSet(b, p, b22, 0, 1, b22, 1, 3, -1, 1);
        return sealBatch(b, at, p, 3, RecordType.ClearBatch);
      }),
    ).toEqual(bytes);
    const items = [walRecord({ type: 0, key: "a", value: "1", version: 1 }), walRecord({ type: 4 }), walRecord({ type: 0, key: "b", value: "22", version: 1 })];
    expect(walRecord({ type: 5, value: concat(items), version: 3 })).toEqual(bytes);
    const rec = decoded(bytes);
    expect([rec.type, rec.keyLen, rec.expiryMs, rec.version]).toEqual([RecordType.ClearBatch, 0, -1, 3]);
    expect(checkBatch(bytes, rec, newRecordView())).toBeNull();
    // The same items under the BATCH type are refused: a BATCH never holds a CLEAR.
    const asBatch = walRecord({ type: 3, value: concat(items), version: 3 });
    expect(checkBatch(asBatch, decoded(asBatch), newRecordView())).toBe("batch item 2 has type 4");
  });

  test("a snapshot header and entry encode to the document's bytes and decode back", () => {
    const bytes = vector("snapshot");
    expect(encoded((b, at) => encodeEntry(b, putSnapHeader(b, at, 1), key, 0, key.length, value, 0, value.length, -1, 3))).toEqual(bytes);
    expect(snapshotFile([{ key: "greeting", value: "hello", version: 3 }])).toEqual(bytes);
    expect(parseSnapHeader(bytes, 0, bytes.length)).toBe(1);
    const e = newEntryView();
    expect(parseEntry(bytes, snapHeaderBytes, bytes.length, e)).toBeNull();
    expect([text(bytes, e.keyStart, e.keyLen), text(bytes, e.valueStart, e.valueLen), e.expiryMs, e.version, snapHeaderBytes + e.bytes]).toEqual(["greeting", "hello", -1, 3, bytes.length]);
  });

  test("the keyspace's own snapshot encoder writes the entry layout format.ts documents", () => {
    const store = new Store();
    const id = store.set(key, 0, key.length, value, 0, value.length, -1, 3, -1);
    const b = new Uint8Array(256).fill(0xaa);
    const end = sealEntry(b, 0, store.encodeEntry(id, b, 0));
    expect(end).toBe(store.entryBytes(id) + 4);
    expect(b.slice(0, end)).toEqual(vector("snapshot").slice(snapHeaderBytes));
  });

  test("the manifest serializes to the document's text and parses back", () => {
    const b = blocks().get("manifest")!;
    const m = { version: 1, snap: "snap-00000002.osnap", next_wal: "wal-00000003.oswal", created_ms: 1700000000000 } as const;
    expect(serializeManifest(m).toString("utf8")).toBe(b.body.trimEnd());
    expect(parseManifest(b.body)).toEqual(m);
  });

  test("a manifest that is not JSON, or names no well-formed snapshot and WAL, is refused with the reason", () => {
    expect(parseManifest("{")).toMatch(/^is not valid JSON/);
    expect(parseManifest('{"snap":"snap-1.osnap","next_wal":"wal-00000001.oswal"}')).toMatch(/^does not name a snapshot and a next WAL/);
    expect(parseManifest('{"snap":"snap-00000001.osnap"}')).toMatch(/^does not name a snapshot and a next WAL/);
    expect(parseManifest("null")).toMatch(/^does not name a snapshot and a next WAL/);
  });

  test("file names are the document's", () => {
    const lines = blocks().get("file-names")!.body.trim().split("\n");
    expect(lines.length).toBe(7);
    for (const line of lines) {
      const [what, arg, name] = line.split(" ");
      const made =
        what === "wal" ? walName(Number(arg)) : what === "snap" ? snapName(Number(arg)) : what === "tmp" ? tmpName(arg!) : what!.startsWith("broken") ? brokenName(arg!, Number(what!.split(".")[1] ?? 0)) : `unknown ${what}`;
      expect(made).toBe(name!);
    }
  });
});
