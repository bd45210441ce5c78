// An EXEC in the WAL: its writes reach the log as one batch record (MSETs inside it join it; with a
// FLUSHALL it is a CLEAR_BATCH holding its clears), an EXEC that writes nothing logs nothing,
// recovery of a torn EXEC batch shows none of it, and a log that cannot make room refuses the
// whole EXEC before anything changes.

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { configFromObject } from "../../src/config.ts";
import { nullLog, Store, type MutationLog } from "../../src/engine/store.ts";
import { recover } from "../../src/persistence/recovery.ts";
import { Wal, WalError } from "../../src/persistence/wal.ts";
import { createContext, EngineClient } from "../commands/harness.ts";
import { pipeline, resp } from "../resp/encode.ts";
import { captureLog, concat, walFile, walRecord } from "./fixtures.ts";

const SET = 0;
const DEL = 1;
const BATCH = 3;
const CLEAR = 4;
const CLEAR_BATCH = 5;

const dirs: string[] = [];
const wals: Wal[] = [];
let logged: ReturnType<typeof captureLog>;
beforeEach(() => {
  logged = captureLog();
});
afterEach(() => {
  for (const w of wals.splice(0)) w.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  logged.restore();
  expect(logged.unexpected()).toEqual([]);
});

function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), "osprey-exec-"));
  dirs.push(d);
  return d;
}

/** A RESP client of a keyspace whose mutation log is a real WAL in a fresh directory. */
function walClient() {
  const dir = freshDir();
  const wal = new Wal(dir, configFromObject({ data_dir: dir, sync_policy: "os" }, { warn: () => {} }), 1, 0);
  wals.push(wal);
  const client = new EngineClient(createContext({}, { log: wal }));
  return { dir, wal, client, file: () => readFileSync(join(dir, walFile(1))) };
}

const turn = () => new Promise<void>((r) => setImmediate(() => setImmediate(r)));

function keys(store: Store): string[] {
  const out: string[] = [];
  store.forEach((id) => {
    const b = store.buffer(id);
    const ks = store.keyOffset(id);
    out.push(b.subarray(ks, ks + store.keyLength(id)).toString("latin1"));
  });
  return out.sort();
}

describe("EXEC in the WAL", () => {
  test("an EXEC's writes land as one batch record holding each record in order, MSET's included, byte for byte", async () => {
    const { client, file } = walClient();
    client.send(resp("SET", "before", "b"));
    const out = client.send(pipeline(["MULTI"], ["SET", "x", "1"], ["INCR", "n"], ["GET", "x"], ["DEL", "before", "nokey"], ["MSET", "m1", "a", "m2", "bb"], ["EXEC"]));
    expect(out).toEndWith("*5\r\n+OK\r\n:1\r\n$1\r\n1\r\n:1\r\n+OK\r\n");
    await turn();
    const items = [
      walRecord({ type: SET, key: "x", value: "1", version: 1 }),
      walRecord({ type: SET, key: "n", value: "1", version: 1 }),
      walRecord({ type: DEL, key: "before" }),
      walRecord({ type: SET, key: "m1", value: "a", version: 1 }),
      walRecord({ type: SET, key: "m2", value: "bb", version: 1 }),
    ];
    const expected = concat([walRecord({ type: SET, key: "before", value: "b", version: 1 }), walRecord({ type: BATCH, value: concat(items), version: items.length })]);
    expect(Array.from(file())).toEqual(Array.from(expected));
  });

  test("an EXEC whose commands log nothing (reads, a DEL of a missing key, refused SETs) adds no bytes to the log", async () => {
    const { client, wal } = walClient();
    client.send(resp("SET", "k", "v"));
    await turn();
    const before = wal.appendedLsn;
    expect(client.send(pipeline(["MULTI"], ["GET", "k"], ["DEL", "nokey"], ["SET", "k", "w", "NX"], ["EXEC"]))).toEndWith("*3\r\n$1\r\nv\r\n:0\r\n$-1\r\n");
    await turn();
    expect(wal.appendedLsn).toBe(before);
  });

  test("recovery of an EXEC batch torn at any byte shows none of it; whole, all of it", async () => {
    const { client, file } = walClient();
    client.send(resp("SET", "before", "b"));
    client.send(pipeline(["MULTI"], ["SET", "x", "1"], ["DEL", "before"], ["INCR", "n"], ["EXEC"]));
    await turn();
    const bytes = file();
    const first = walRecord({ type: SET, key: "before", value: "b", version: 1 }).length;
    const recoverFrom = (data: Uint8Array) => {
      const d = freshDir();
      writeFileSync(join(d, walFile(1)), data);
      const store = new Store();
      const result = recover(d, store, {});
      return { keys: keys(store), trimmed: result.trimmedBytes };
    };
    expect(recoverFrom(bytes).keys).toEqual(["n", "x"]);
    for (let cut = first + 1; cut < bytes.length; cut++) {
      const { keys: state, trimmed } = recoverFrom(bytes.subarray(0, cut));
      expect(state).toEqual(["before"]);
      expect(trimmed).toBe(cut - first);
    }
    expect(logged.take(/^WARN recovery: trimmed/)).toHaveLength(bytes.length - first - 1);
  });

  test("an EXEC with FLUSHALL and FLUSHDB lands as one CLEAR_BATCH holding its clears where they ran, byte for byte", async () => {
    const { client, file } = walClient();
    client.send(resp("SET", "before", "b"));
    const out = client.send(pipeline(["MULTI"], ["SET", "a", "1"], ["FLUSHALL"], ["SET", "b", "22"], ["FLUSHDB", "SYNC"], ["INCR", "n"], ["EXEC"], ["KEYS", "*"]));
    expect(out).toEndWith("*5\r\n+OK\r\n+OK\r\n+OK\r\n+OK\r\n:1\r\n*1\r\n$1\r\nn\r\n");
    await turn();
    const items = [
      walRecord({ type: SET, key: "a", value: "1", version: 1 }),
      walRecord({ type: CLEAR }),
      walRecord({ type: SET, key: "b", value: "22", version: 1 }),
      walRecord({ type: CLEAR }),
      walRecord({ type: SET, key: "n", value: "1", version: 1 }),
    ];
    const expected = concat([walRecord({ type: SET, key: "before", value: "b", version: 1 }), walRecord({ type: CLEAR_BATCH, value: concat(items), version: items.length })]);
    expect(Array.from(file())).toEqual(Array.from(expected));
  });

  test("an EXEC without a clear is still a plain BATCH, and a FLUSHALL outside MULTI a plain CLEAR", async () => {
    const { client, file } = walClient();
    client.send(pipeline(["MULTI"], ["SET", "x", "1"], ["EXEC"], ["FLUSHALL"]));
    await turn();
    const expected = concat([walRecord({ type: BATCH, value: walRecord({ type: SET, key: "x", value: "1", version: 1 }), version: 1 }), walRecord({ type: CLEAR })]);
    expect(Array.from(file())).toEqual(Array.from(expected));
  });

  test("recovery of an EXEC with a clear torn at any byte shows none of it, not even its clear; whole, exactly its outcome", async () => {
    const { client, file } = walClient();
    client.send(pipeline(["SET", "before", "b"], ["SET", "other", "o"]));
    client.send(pipeline(["MULTI"], ["SET", "x", "1"], ["FLUSHALL"], ["SET", "y", "2"], ["DEL", "nokey"], ["INCR", "n"], ["EXEC"]));
    await turn();
    const bytes = file();
    const first = concat([walRecord({ type: SET, key: "before", value: "b", version: 1 }), walRecord({ type: SET, key: "other", value: "o", version: 1 })]).length;
    const recoverFrom = (data: Uint8Array) => {
      const d = freshDir();
      writeFileSync(join(d, walFile(1)), data);
      const store = new Store();
      const result = recover(d, store, {});
      return { keys: keys(store), trimmed: result.trimmedBytes };
    };
    expect(recoverFrom(bytes).keys).toEqual(["n", "y"]);
    for (let cut = first + 1; cut < bytes.length; cut++) {
      const { keys: state, trimmed } = recoverFrom(bytes.subarray(0, cut));
      expect(state).toEqual(["before", "other"]);
      expect(trimmed).toBe(cut - first);
    }
    expect(logged.take(/^WARN recovery: trimmed/)).toHaveLength(bytes.length - first - 1);
  });

  test("a log that cannot make room for the EXEC refuses all of it before anything changes", () => {
    let full = true;
    const log: MutationLog = {
      ...nullLog,
      groupBegin() {
        if (full) throw new WalError("write not applied: no room for the write-ahead log: ENOSPC");
      },
    };
    const client = new EngineClient(createContext({}, { log }));
    client.send(resp("SET", "a", "0"));
    const out = client.send(pipeline(["MULTI"], ["SET", "a", "1"], ["INCR", "b"], ["EXEC"], ["MGET", "a", "b"]));
    expect(out).toBe("+OK\r\n+QUEUED\r\n+QUEUED\r\n-ERR INTERNAL write not applied: no room for the write-ahead log: ENOSPC\r\n*2\r\n$1\r\n0\r\n$-1\r\n");
    // Refusals are logged at most once a second (the dispatcher's rule), so another test's may have used it up.
    expect(logged.take(/^ERROR .*write\(s\) refused/).length).toBeLessThanOrEqual(1);
    // The refused EXEC ended the transaction: the connection is out of MULTI and can run the next.
    full = false;
    expect(client.send(pipeline(["MULTI"], ["INCR", "b"], ["EXEC"]))).toBe("+OK\r\n+QUEUED\r\n*1\r\n:1\r\n");
  });
});
