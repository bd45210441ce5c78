// PUBLISH throughput: messages published and delivered per second, Osprey against redis-server in
// one run, alternating. Each server is started here on a loopback port (Osprey from this checkout,
// redis-server without persistence); `--subscribers` clients SUBSCRIBE to one channel and
// `--publishers` clients PUBLISH to it in closed loops of `--pipeline` requests.
//
//   ./node_modules/.bin/bun run bench/pubsub.ts [--subscribers 1,100] [--publishers 4] [--pipeline 16]
//                                               [--payload 64] [--duration 5] [--rounds 2]
//
// Every frame of a run has one size (the channel and payload are fixed, and so is PUBLISH's reply
// while the subscriber count is), so messages are counted from bytes received: the generator does
// no parsing and stays cheap next to the servers.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    subscribers: { type: "string", default: "1,100" },
    publishers: { type: "string", default: "4" },
    pipeline: { type: "string", default: "16" },
    payload: { type: "string", default: "64" },
    duration: { type: "string", default: "5" },
    rounds: { type: "string", default: "2" },
  },
});
const subscriberCounts = values.subscribers.split(",").map(Number);
const publishers = Number(values.publishers);
const pipeline = Number(values.pipeline);
const payload = "p".repeat(Number(values.payload));
const durationMs = Number(values.duration) * 1000;
const rounds = Number(values.rounds);
const host = "127.0.0.1";
const channel = "bench";

const resp = (...args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;
const publishBatch = Buffer.from(resp("PUBLISH", channel, payload).repeat(pipeline));
const messageFrame = resp("message", channel, payload).length;

async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: host, port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const s = await Bun.connect({ hostname: host, port, socket: { data() {} } });
      s.end();
      return;
    } catch {
      await Bun.sleep(25);
    }
  }
  throw new Error(`nothing listens on ${host}:${port}`);
}

interface Server {
  name: string;
  port: number;
  stop(): void;
}

async function startOsprey(work: string): Promise<Server> {
  const port = await freePort();
  const config = join(work, "osprey.toml");
  writeFileSync(config, `listen_addr = "${host}:${port}"\ndata_dir = "${join(work, "osprey")}"\n`);
  const proc = Bun.spawn([process.execPath, "run", join(import.meta.dir, "..", "src", "server.ts"), "--config", config], { stdout: "ignore", stderr: "ignore" });
  await waitForPort(port);
  return { name: "osprey", port, stop: () => proc.kill("SIGKILL") };
}

async function startRedis(work: string): Promise<Server> {
  const port = await freePort();
  const proc = Bun.spawn(["redis-server", "--port", String(port), "--bind", host, "--save", "", "--appendonly", "no", "--dir", work], { stdout: "ignore", stderr: "ignore" });
  await waitForPort(port);
  return { name: "redis", port, stop: () => proc.kill("SIGKILL") };
}

/** One measured run: returns messages published and delivered per second. */
async function run(port: number, subscribers: number): Promise<{ published: number; delivered: number }> {
  let delivered = 0;
  let measuring = false;
  const subs = [];
  let confirmed = 0;
  // `*3 $9 subscribe $5 bench :1`: the array header has the same length as a two-item one.
  const subscribeReply = resp("subscribe", channel).length + ":1\r\n".length;
  for (let i = 0; i < subscribers; i++) {
    let skip = subscribeReply; // the SUBSCRIBE confirmation comes first
    subs.push(
      await Bun.connect({
        hostname: host,
        port,
        socket: {
          data(_s, d) {
            let n = d.length;
            if (skip > 0) {
              const k = Math.min(skip, n);
              skip -= k;
              n -= k;
              if (skip === 0) confirmed++;
            }
            if (measuring) delivered += n;
          },
        },
      }),
    );
    subs[i]!.write(resp("SUBSCRIBE", channel));
  }
  while (confirmed < subscribers) await Bun.sleep(5);
  const replyBytes = `:${subscribers}\r\n`.length * pipeline;
  let published = 0;
  let stop = false;
  const pubs = [];
  for (let i = 0; i < publishers; i++) {
    let got = 0;
    const socket = await Bun.connect({
      hostname: host,
      port,
      socket: {
        data(s, d) {
          got += d.length;
          while (got >= replyBytes) {
            got -= replyBytes;
            if (measuring) published += pipeline;
            if (!stop) s.write(publishBatch);
          }
        },
      },
    });
    pubs.push(socket);
  }
  for (const p of pubs) p.write(publishBatch);
  await Bun.sleep(500); // warm up
  measuring = true;
  const started = performance.now();
  await Bun.sleep(durationMs);
  measuring = false;
  const seconds = (performance.now() - started) / 1000;
  stop = true;
  for (const s of [...pubs, ...subs]) s.end();
  await Bun.sleep(100);
  return { published: published / seconds, delivered: delivered / messageFrame / seconds };
}

const work = mkdtempSync(join(tmpdir(), "osprey-pubsub-"));
const servers = [await startOsprey(work), await startRedis(work)];
try {
  const best = new Map<string, { published: number; delivered: number }>();
  for (let round = 1; round <= rounds; round++) {
    for (const subscribers of subscriberCounts) {
      for (const server of servers) {
        const r = await run(server.port, subscribers);
        const key = `${server.name} ${subscribers}`;
        const b = best.get(key);
        if (b === undefined || r.delivered > b.delivered) best.set(key, r);
        console.error(`round ${round} ${server.name} subscribers=${subscribers}: ${Math.round(r.published)} published/s, ${Math.round(r.delivered)} delivered/s`);
      }
    }
  }
  console.log(`\n${publishers} publishers, pipeline ${pipeline}, ${payload.length}-byte messages, best of ${rounds} rounds`);
  console.log("| subscribers | Osprey published/s | Osprey delivered/s | Redis published/s | Redis delivered/s | delivered ratio |");
  console.log("|---|---|---|---|---|---|");
  const n = (x: number) => Math.round(x).toLocaleString("en-US");
  for (const subscribers of subscriberCounts) {
    const o = best.get(`osprey ${subscribers}`)!;
    const r = best.get(`redis ${subscribers}`)!;
    console.log(`| ${subscribers} | ${n(o.published)} | ${n(o.delivered)} | ${n(r.published)} | ${n(r.delivered)} | ${(o.delivered / r.delivered).toFixed(2)} |`);
  }
} finally {
  for (const s of servers) s.stop();
  rmSync(work, { recursive: true, force: true });
}
