// kill -9 crash consistency, shared by test/e2e/crash.test.ts (a few cycles) and bench/crash.ts
// (any number): clients write SETs, INCRs and MSETs (text protocol) and MULTI/EXEC transactions
// (RESP: SETs, and APPEND, SETRANGE, BITOP, COPY, RENAME, INCRBYFLOAT, which log stored values) while SNAPSHOTs run; a model records every write sent and every write acknowledged; the
// server is killed with SIGKILL at a random moment, restarted on the same data_dir, and every key
// is checked against the model before the next cycle:
//   - an acknowledged write is there (a SET's version and value, an INCR's count, an MSET's or an
//     EXEC's tag on every key of its group), and nothing is there that was never sent;
//   - an MSET or EXEC is on all of its keys or on none, acknowledged or not (one log batch).

import { RawClient } from "../support/client.ts";
import { rng } from "../support/rng.ts";
import { startServer, type RunningServer } from "../support/server.ts";

export type SyncPolicy = "always" | "batch";

export interface CrashOptions {
  dataDir: string;
  policy: SyncPolicy;
  cycles: number;
  seed: number;
  /** Text clients (SET, INCR, MSET) and RESP clients (MULTI/EXEC). */
  textClients?: number;
  respClients?: number;
  /** How long the load runs before the kill: a random time in [min, max] ms. */
  loadMsMin?: number;
  loadMsMax?: number;
  /** Extra server settings. */
  config?: Record<string, unknown>;
  /** Whether a client sends SNAPSHOT during the load (default true). */
  snapshots?: boolean;
  /** Runs after each kill, before the restart (the suite's check of the check damages files here). */
  afterKill?: (dataDir: string, cycle: number) => void;
  onCycle?: (cycle: number, figures: CrashFigures) => void;
}

export interface CrashFigures {
  cycles: number;
  /** Writes acknowledged to a client, all cycles (an MSET or an EXEC counts once). */
  ackedWrites: number;
  /** Acknowledged writes each restart found (those of the cycle before it). */
  ackedChecked: number;
  /** Keys read back and compared with the model, all restarts. */
  keysChecked: number;
  snapshots: number;
  /** Each one a sentence naming key, cycle and what was wrong; empty when nothing was lost. */
  lost: string[];
  /** Replies that were neither an acknowledgement nor the connection's end. */
  unexpected: string[];
}

const groupSize = 4;

/** What was sent and acknowledged for every key; keys are owned by one client, so it is exact. */
class Model {
  /** SET keys: writes sent, highest version acknowledged. Values are `${key}=${version}`. */
  readonly setSent = new Map<string, number>();
  readonly setAcked = new Map<string, number>();
  /** INCR keys: increments sent, highest count acknowledged. */
  readonly incrSent = new Map<string, number>();
  readonly incrAcked = new Map<string, number>();
  /** MSET and EXEC groups: highest tag sent and acknowledged; each member's value is `${group}#${tag}`. */
  readonly tagSent = new Map<string, number>();
  readonly tagAcked = new Map<string, number>();
  /** Acknowledgements since the last check. */
  ackedSinceCheck = 0;
}

function members(group: string): string[] {
  return Array.from({ length: groupSize }, (_, i) => `${group}:${i}`);
}

/**
 * Runs `step` on one connection until `stop` says so, `step` answers false (a reply it did not
 * expect) or the server is killed: what was acknowledged by then is in the model.
 */
async function untilKilled(port: number, stop: () => boolean, step: (c: RawClient) => Promise<boolean | void>): Promise<void> {
  let c: RawClient;
  try {
    c = await RawClient.connect(port);
  } catch {
    return; // killed before this client connected
  }
  try {
    while (!stop()) if ((await step(c)) === false) return;
  } catch {
    // killed mid-request
  }
}

/** A text client: pipelines of SET, INCR and MSET on its own keys. */
function textClient(port: number, id: number, m: Model, r: () => number, stop: () => boolean, figures: CrashFigures): Promise<void> {
  return untilKilled(port, stop, async (c) => {
    const depth = 1 + Math.floor(r() * 12);
    let req = "";
    const pending: (() => Promise<void>)[] = [];
    for (let d = 0; d < depth; d++) {
      const u = r();
      if (u < 0.55) {
        const key = `s:${id}:${Math.floor(r() * 200)}`;
        const version = (m.setSent.get(key) ?? 0) + 1;
        m.setSent.set(key, version);
        const value = `${key}=${version}`;
        req += `SET ${key} ${value.length}\r\n${value}\r\n`;
        pending.push(async () => {
          const line = await c.line();
          if (line !== `OK ${version}`) return void figures.unexpected.push(`SET ${key}: ${line} (sent as version ${version})`);
          m.setAcked.set(key, version);
          figures.ackedWrites++;
          m.ackedSinceCheck++;
        });
      } else if (u < 0.8) {
        const key = `n:${id}:${Math.floor(r() * 20)}`;
        const count = (m.incrSent.get(key) ?? 0) + 1;
        m.incrSent.set(key, count);
        req += `INCR ${key}\r\n`;
        pending.push(async () => {
          const line = await c.line();
          if (line !== String(count)) return void figures.unexpected.push(`INCR ${key}: ${line} (expected ${count})`);
          m.incrAcked.set(key, count);
          figures.ackedWrites++;
          m.ackedSinceCheck++;
        });
      } else {
        const group = `m:${id}:${Math.floor(r() * 10)}`;
        const tag = (m.tagSent.get(group) ?? 0) + 1;
        m.tagSent.set(group, tag);
        const value = `${group}#${tag}`;
        req += `MSET ${members(group).map((k) => `${k} ${value.length}`).join(" ")}\r\n${value.repeat(groupSize)}\r\n`;
        pending.push(async () => {
          const line = await c.line();
          if (line !== `OK ${groupSize}`) return void figures.unexpected.push(`MSET ${group}: ${line}`);
          m.tagAcked.set(group, tag);
          figures.ackedWrites++;
          m.ackedSinceCheck++;
        });
      }
    }
    await c.send(req);
    for (const p of pending) await p();
  });
}

function bulk(s: string): string {
  return `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
}

function resp(...args: string[]): string {
  return `*${args.length}\r\n${args.map(bulk).join("")}`;
}

/**
 * One member's write inside an EXEC, leaving `value` at `key` whatever the key held before: a SET, or
 * a write that logs a value built from stored ones (RENAME of a scratch key, COPY or BITOP OR of the
 * group's first member, SETRANGE over a 1-byte value, APPEND after a prefix) — so the crash check
 * covers the EXEC bound of those too. Returns the requests and the reply lines they answer in the EXEC.
 */
function memberWrite(key: string, first: string, value: string, scratch: string, u: number): { body: string[]; want: string[] } {
  const len = `:${Buffer.byteLength(value)}`;
  if (u < 0.3) return { body: [resp("SET", key, value)], want: ["+OK"] };
  if (u < 0.45) return { body: [resp("SET", scratch, value), resp("RENAME", scratch, key)], want: ["+OK", "+OK"] };
  if (u < 0.6) return { body: [resp("COPY", first, key, "REPLACE")], want: [":1"] };
  if (u < 0.72) return { body: [resp("BITOP", "OR", key, first)], want: [len] };
  if (u < 0.86) return { body: [resp("SET", key, "."), resp("SETRANGE", key, "0", value)], want: ["+OK", len] };
  const cut = value.indexOf("#") + 1;
  return { body: [resp("SET", key, value.slice(0, cut)), resp("APPEND", key, value.slice(cut))], want: ["+OK", len] };
}

/**
 * A RESP client: MULTI, a group's writes and an increment of a counter, EXEC — one transaction at a
 * time, pipelined whole. The increment is an INCR or an INCRBYFLOAT by 1 (an integer's text either way).
 */
function respClient(port: number, id: number, m: Model, r: () => number, stop: () => boolean, figures: CrashFigures): Promise<void> {
  return untilKilled(port, stop, async (c) => {
    const group = `x:${id}:${Math.floor(r() * 10)}`;
    const counter = `xn:${id}:${Math.floor(r() * 5)}`;
    const tag = (m.tagSent.get(group) ?? 0) + 1;
    m.tagSent.set(group, tag);
    const count = (m.incrSent.get(counter) ?? 0) + 1;
    m.incrSent.set(counter, count);
    const value = `${group}#${tag}`;
    const ks = members(group);
    const body: string[] = [];
    const replies: string[] = [];
    const add = (w: { body: string[]; want: string[] }) => {
      body.push(...w.body);
      replies.push(...w.want);
    };
    add({ body: [resp("SET", ks[0]!, value)], want: ["+OK"] });
    add(memberWrite(ks[1]!, ks[0]!, value, `xs:${id}`, r()));
    // The counter's increment sits between the members' writes, so a half-applied EXEC would show on either side.
    if (r() < 0.5) add({ body: [resp("INCR", counter)], want: [`:${count}`] });
    else add({ body: [resp("INCRBYFLOAT", counter, "1")], want: [`$${String(count).length}`, String(count)] });
    for (const k of ks.slice(2)) add(memberWrite(k, ks[0]!, value, `xs:${id}`, r()));
    await c.send(resp("MULTI") + body.join("") + resp("EXEC"));
    const want = ["+OK", ...body.map(() => "+QUEUED"), `*${body.length}`, ...replies];
    for (const w of want) {
      const line = await c.line();
      if (line !== w) {
        figures.unexpected.push(`EXEC ${group}: ${line} where ${w} was expected`);
        return false;
      }
    }
    m.tagAcked.set(group, tag);
    m.incrAcked.set(counter, count);
    figures.ackedWrites++;
    m.ackedSinceCheck++;
  });
}

/** Sends SNAPSHOT every 100-400 ms until stopped. */
function snapshotter(port: number, r: () => number, stop: () => boolean, figures: CrashFigures): Promise<void> {
  return untilKilled(port, stop, async (c) => {
    await Bun.sleep(100 + r() * 300);
    const line = await c.request("SNAPSHOT\r\n");
    if (line === "OK snapshot started") figures.snapshots++;
    else if (line !== "ERR BUSY a snapshot is already in progress") figures.unexpected.push(`SNAPSHOT: ${line}`);
  });
}

/** Reads one text GET reply: null for NOT_FOUND, else version and value. */
async function readGet(c: RawClient): Promise<{ version: number; value: string } | null> {
  const head = await c.line();
  if (head === "NOT_FOUND") return null;
  const m = /^VALUE (\d+) (\d+) -?\d+$/.exec(head);
  if (m === null) throw new Error(`unexpected GET reply ${head}`);
  const value = (await c.bytes(Number(m[1]) + 2)).toString("latin1").slice(0, -2);
  return { version: Number(m[2]), value };
}

/** Compares every key of the model with the restarted server, then continues the model from what is there. */
async function verify(port: number, m: Model, cycle: number, figures: CrashFigures): Promise<void> {
  const c = await RawClient.connect(port);
  const lost = figures.lost;
  const get = async (keys: string[]) => {
    await c.send(keys.map((k) => `GET ${k}\r\n`).join(""));
    const out: ({ version: number; value: string } | null)[] = [];
    for (const _ of keys) out.push(await readGet(c));
    figures.keysChecked += keys.length;
    return out;
  };
  const setKeys = [...m.setSent.keys()];
  const setGot = await get(setKeys);
  setKeys.forEach((key, i) => {
    const got = setGot[i]!;
    const acked = m.setAcked.get(key) ?? 0;
    const version = got?.version ?? 0;
    if (version < acked) lost.push(`cycle ${cycle}: ${key} acknowledged at version ${acked}, recovered ${got === null ? "nothing" : `version ${version}`}`);
    else if (version > m.setSent.get(key)!) lost.push(`cycle ${cycle}: ${key} recovered version ${version}, never written`);
    else if (got !== null && got.value !== `${key}=${version}`) lost.push(`cycle ${cycle}: ${key} version ${version} holds ${JSON.stringify(got.value)}`);
    m.setSent.set(key, version);
    m.setAcked.set(key, version);
  });
  const incrKeys = [...m.incrSent.keys()];
  const incrGot = await get(incrKeys);
  incrKeys.forEach((key, i) => {
    const got = incrGot[i]!;
    const acked = m.incrAcked.get(key) ?? 0;
    const count = got === null ? 0 : Number(got.value);
    if (!Number.isInteger(count)) lost.push(`cycle ${cycle}: counter ${key} holds ${JSON.stringify(got!.value)}`);
    else if (count < acked) lost.push(`cycle ${cycle}: counter ${key} acknowledged at ${acked}, recovered ${count}`);
    else if (count > m.incrSent.get(key)!) lost.push(`cycle ${cycle}: counter ${key} recovered ${count}, more than the ${m.incrSent.get(key)} increments sent`);
    m.incrSent.set(key, count);
    m.incrAcked.set(key, count);
  });
  const groups = [...m.tagSent.keys()];
  for (const group of groups) {
    const got = await get(members(group));
    const tags = got.map((g) => (g === null ? 0 : g.value.startsWith(`${group}#`) ? Number(g.value.slice(group.length + 1)) : NaN));
    const acked = m.tagAcked.get(group) ?? 0;
    if (tags.some((t) => t !== tags[0])) lost.push(`cycle ${cycle}: ${group} half-applied: its keys hold tags ${tags.join(", ")} (acknowledged ${acked})`);
    else if (tags[0]! < acked) lost.push(`cycle ${cycle}: ${group} acknowledged with tag ${acked}, recovered ${tags[0] === 0 ? "nothing" : `tag ${tags[0]}`}`);
    else if (tags[0]! > m.tagSent.get(group)!) lost.push(`cycle ${cycle}: ${group} recovered tag ${tags[0]}, never sent`);
    const t = Number.isNaN(tags[0]) ? 0 : Math.max(...tags);
    m.tagSent.set(group, t);
    m.tagAcked.set(group, t);
  }
  figures.ackedChecked += m.ackedSinceCheck;
  m.ackedSinceCheck = 0;
  c.close();
}

/** Runs `cycles` crash cycles (start, check, load, kill -9), then a last restart and check. */
export async function crashCycles(o: CrashOptions): Promise<CrashFigures> {
  const r = rng(o.seed);
  const figures: CrashFigures = { cycles: 0, ackedWrites: 0, ackedChecked: 0, keysChecked: 0, snapshots: 0, lost: [], unexpected: [] };
  const m = new Model();
  const config = { sync_policy: o.policy, enable_snapshot: true, wal_max_bytes: 1024 * 1024, ...o.config, data_dir: o.dataDir };
  const loadMin = o.loadMsMin ?? 300;
  const loadMax = o.loadMsMax ?? 1200;
  let server: RunningServer | null = null;
  try {
    for (let cycle = 0; cycle <= o.cycles; cycle++) {
      server = await startServer(config, { dataDir: o.dataDir });
      await verify(server.port, m, cycle, figures);
      if (cycle === o.cycles) break;
      let stop = false;
      const until = () => stop;
      const runs = [
        ...Array.from({ length: o.textClients ?? 3 }, (_, i) => textClient(server!.port, i, m, rng(o.seed * 31 + cycle * 1000 + i), until, figures)),
        ...Array.from({ length: o.respClients ?? 2 }, (_, i) => respClient(server!.port, i, m, rng(o.seed * 37 + cycle * 1000 + i), until, figures)),
        ...(o.snapshots === false ? [] : [snapshotter(server.port, rng(o.seed * 41 + cycle), until, figures)]),
      ];
      await Bun.sleep(loadMin + r() * (loadMax - loadMin));
      process.kill(server.pid, "SIGKILL"); // mid-pipeline: replies in flight, a snapshot perhaps half-written
      await server.proc.exited;
      stop = true;
      await Promise.all(runs);
      figures.cycles++;
      o.afterKill?.(o.dataDir, cycle);
      o.onCycle?.(cycle, figures);
    }
  } finally {
    if (server !== null && server.proc.exitCode === null && server.proc.signalCode === null) await server.signal("SIGKILL");
  }
  return figures;
}
