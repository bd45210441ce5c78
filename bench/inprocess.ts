// In-process cost of Osprey's own code per request: parser, command table, keyspace and reply
// encoder, fed through a real Connection whose transport discards the bytes. No sockets, so the
// figure is stable enough to compare two versions of the code on a noisy machine.
//
//   ./node_modules/.bin/bun run bench/inprocess.ts [--requests 1000000] [--batch 16] [--protocol osprey|resp]
//     [--evict-mb N [--policy allkeys-lru] [--fresh]] [--keyspace 100000]
//
// --keyspace N: the keys requests are drawn from (spread by a stride over all N). Above 100,000 the
// N keys are SET first and the requests cycle through 262,144 distinct keys instead of 1,024, so a
// GET meets cold table slots, metadata and slab lines as it does in a large keyspace (issue 15).
//
// --evict-mb N: SET then GET, at a limit of N MiB under --policy (allkeys-lru unless given), over
// 65,536 keys cycled (far more than N MiB holds for small N, e.g. 4): each SET then adds a key and
// evicts one, as bench/eviction.sh's over sockets; each GET updates the policy's metadata (and
// under the osprey policies its sketch and decay tuner), a hit or a miss.
//
// --fresh (with --evict-mb): then SETs of keys that never repeat, as bench/eviction.sh's over a
// 10^9-key space, once the store is full: the table, records and slab hold all the limit allows
// (345k keys at 64 MiB) and every SET evicts one. The 65,536 cycled keys above never build a table
// that large, and under a limit that holds them all they stop evicting. The cost of renumbering
// the keys in place is measured alone and taken off.

import { parseArgs } from "node:util";
import { Stats, systemClock, type Context } from "../src/commands/context.ts";
import { configFromObject } from "../src/config.ts";
import type { EvictionPolicy } from "../src/engine/eviction.ts";
import { Store } from "../src/engine/store.ts";
import { Connection, type Transport } from "../src/net/connection.ts";
import { inputBudget, outputBudget } from "../src/net/budget.ts";
import { Pause } from "../src/net/pause.ts";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "1000000" },
    batch: { type: "string", default: "16" },
    protocol: { type: "string", default: "osprey" },
    "evict-mb": { type: "string", default: "0" },
    policy: { type: "string", default: "allkeys-lru" },
    keyspace: { type: "string", default: "100000" },
    fresh: { type: "boolean", default: false },
  },
});
const total = Number(values.requests);
const batch = Number(values.batch);
const resp = values.protocol === "resp";
const evictBytes = Number(values["evict-mb"]) * 1024 * 1024;
const keyspace = Number(values.keyspace);
const large = keyspace > 100000;
const batchesKept = evictBytes > 0 ? 4096 : large ? 16384 : 64;

const config = configFromObject({}, { warn: () => {} });
const ctx: Context = {
  store: new Store(),
  config,
  stats: new Stats(),
  clock: systemClock,
  startedMs: Date.now(),
  wal: null,
  persistence: null,
  input: inputBudget(config.clientInputBytesMax),
  output: outputBudget(config.clientOutputBytesMax),
  clients: 1,
  outputRoom: 0,
  outputOverflow: false,
  pause: new Pause(systemClock.nowMs),
  monitors: [],
  shutdown: null,
  notifyFlags: 0,
  pubsubOutputBytesMax: config.pubsubOutputBytesMax,
  activeExpire: true,
};
let written = 0;
const sink: Transport = { write: (_d, _o = 0, n = 0) => ((written += n), n), end() {}, pause() {}, resume() {} };
const conn = new Connection(sink, ctx);

const value = "x".repeat(100);
function requests(op: string, seed: number): Uint8Array[] {
  // 64 distinct batches of `batch` requests over a 100,000-key space, reused round-robin (4096 with --evict-mb).
  const out: Uint8Array[] = [];
  for (let b = 0; b < batchesKept; b++) {
    let text = "";
    for (let i = 0; i < batch; i++) {
      const key = `key:${String(((seed + b * batch + i) * 7919) % keyspace).padStart(12, "0")}`;
      if (resp) {
        const args = op === "set" ? ["SET", key, value] : op === "get" ? ["GET", key] : ["INCR", `${key}:n`];
        text += `*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join("")}`;
      } else {
        text += op === "set" ? `SET ${key} 100\r\n${value}\r\n` : op === "get" ? `GET ${key}\r\n` : `INCR ${key}:n\r\n`;
      }
    }
    out.push(Buffer.from(text, "latin1"));
  }
  return out;
}

if (large) {
  // Every key SET once, straight into the store, so GETs hit wherever they land.
  const kb = Buffer.alloc(16);
  const vb = Buffer.from(value);
  for (let k = 0; k < keyspace; k++) {
    kb.write(`key:${String(k).padStart(12, "0")}`, 0, "latin1");
    ctx.store.set(kb, 0, 16, vb, 0, vb.length, -1, k + 1, ctx.store.find(kb, 0, 16));
  }
}
if (evictBytes > 0) ctx.store.setMemoryLimit(evictBytes, values.policy as EvictionPolicy);
for (const op of evictBytes > 0 ? ["set", "get"] : ["set", "get", "incr"]) {
  const batches = requests(op, 1);
  const rounds = Math.ceil(total / batch);
  for (let i = 0; i < 2000; i++) conn.onData(batches[i % batchesKept]!); // warm up the JIT
  // The best of five runs: other load on the machine only ever makes a run slower.
  let ns = Infinity;
  for (let run = 0; run < 5; run++) {
    const started = performance.now();
    for (let i = 0; i < rounds; i++) conn.onData(batches[i % batchesKept]!);
    ns = Math.min(ns, ((performance.now() - started) * 1e6) / (rounds * batch));
  }
  console.log(`${op.padEnd(5)} ${ns.toFixed(0).padStart(5)} ns/request  (${(1e3 / ns).toFixed(2)} M requests/s, batches of ${batch}, best of 5)`);
}
if (values.fresh && evictBytes > 0) {
  const one = resp ? `*3\r\n$3\r\nSET\r\n$16\r\nkey:000000000000\r\n$100\r\n${value}\r\n` : `SET key:000000000000 100\r\n${value}\r\n`;
  const digitsAt = one.indexOf("key:") + 4;
  const buf = Buffer.from(one.repeat(batch), "latin1");
  let n = 0;
  const renumber = () => {
    for (let i = 0; i < batch; i++) {
      let v = n++;
      for (let d = i * one.length + digitsAt + 11; v > 0; d--, v = Math.floor(v / 10)) buf[d] = 48 + (v % 10);
    }
  };
  const before = ctx.store.evictedTotal;
  while (ctx.store.evictedTotal === before) {
    renumber();
    conn.onData(buf);
  }
  const rounds = Math.ceil(total / batch);
  let ns = Infinity;
  for (let run = 0; run < 5; run++) {
    const started = performance.now();
    for (let i = 0; i < rounds; i++) {
      renumber();
      conn.onData(buf);
    }
    const mid = performance.now();
    for (let i = 0; i < rounds; i++) renumber();
    ns = Math.min(ns, ((2 * mid - started - performance.now()) * 1e6) / (rounds * batch));
  }
  console.log(`fresh ${ns.toFixed(0).padStart(5)} ns/request  (SET of a new key, evicting one; ${ctx.store.size} keys held, best of 5)`);
}
console.log(`replies ${written} bytes, keys ${ctx.store.size}, evicted ${ctx.store.evictedTotal}`);
