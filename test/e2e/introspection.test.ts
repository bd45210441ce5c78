// The tools operators point at a Redis-protocol server, against a real Osprey: redis-cli's --stat,
// --bigkeys, --scan, --latency and monitor, and the INFO sections they and redis_exporter read
// (commandstats, replication, pub/sub counts, keyspace).

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startServer, type RunningServer } from "../support/server.ts";
import { redisCli, run } from "../resp/redis.ts";
import { RawClient } from "../support/client.ts";
import { resp } from "../resp/encode.ts";
import { readReply } from "../resp/frames.ts";

let server: RunningServer;
const cli = (...args: string[]) => ["redis-cli", "-h", "127.0.0.1", "-p", String(server.port), ...args];

beforeAll(async () => {
  server = await startServer();
  await redisCli(server.port, ["FLUSHALL", "SET small 1", "SET big 0123456789", "SET tmp x EX 100"]);
});

afterAll(async () => {
  await server?.stop();
});

/** Runs a redis-cli mode that never ends on its own for `ms`, then stops it; its output unbuffered. */
async function sample(args: string[], ms: number): Promise<string> {
  const proc = Bun.spawn(["stdbuf", "-o0", ...cli(...args)], { stdout: "pipe", stderr: "pipe" });
  await Bun.sleep(ms);
  proc.kill();
  return new Response(proc.stdout).text();
}

describe("redis-cli tools and INFO", () => {
  test("--stat prints a line per second with the key count and clients", async () => {
    const lines = (await sample(["--stat", "-i", "1"], 2500)).split("\n").filter((l) => /^\d/.test(l));
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines[0]!.split(/\s+/)[0]).toBe("3");
  }, 20_000);

  test("--bigkeys finds the biggest string, --scan lists every key", async () => {
    const big = await run(cli("--bigkeys"));
    expect(big.stdout).toContain(`Biggest string found '"big"' has 10 bytes`);
    expect(big.stdout).toContain("3 strings with 12 bytes");
    const scan = await run(cli("--scan"));
    expect(scan.stdout.split("\n").filter((l) => l !== "").sort()).toEqual(["big", "small", "tmp"]);
  });

  test("--latency samples PING round trips", async () => {
    const out = await sample(["--latency", "-i", "1"], 2500);
    // Not on a terminal, redis-cli prints "min max avg samples".
    const m = /^(\d+) (\d+) ([\d.]+) (\d+)$/m.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![4])).toBeGreaterThan(0);
    expect(Number(m![1])).toBeLessThanOrEqual(Number(m![2]));
  }, 20_000);

  test("redis-cli monitor prints every later request of other clients, quoted as Redis quotes them", async () => {
    const proc = Bun.spawn(["stdbuf", "-o0", ...cli("monitor")], { stdout: "pipe", stderr: "pipe" });
    try {
      const reader = proc.stdout.getReader();
      let text = "";
      const read = async (until: RegExp) => {
        while (!until.test(text)) {
          const { value, done } = await reader.read();
          if (done) break;
          text += new TextDecoder().decode(value);
        }
      };
      await read(/OK/);
      await run(cli("SET", "mon key", 'say "hi"\n'));
      await run(cli("GET", "mon key"));
      await read(/"GET"/);
      expect(text).toMatch(/^\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] "SET" "mon key" "say \\"hi\\"\\n"$/m);
      expect(text).toMatch(/^\d{10}\.\d{6} \[0 127\.0\.0\.1:\d+\] "GET" "mon key"$/m);
    } finally {
      proc.kill();
      await proc.exited;
      await run(cli("DEL", "mon key"));
    }
  });

  test("INFO commandstats counts calls per command; replication says master; stats count pub/sub", async () => {
    // usec is estimated from sampled requests (commands/timing.ts): 0 until STRLEN's first sample.
    const strlenCalls = (info: string) => Number(/cmdstat_strlen:calls=(\d+),usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=0,failed_calls=0\r\n/.exec(info)?.[1] ?? 0);
    const before = strlenCalls((await run(cli("INFO", "commandstats"))).stdout);
    await redisCli(server.port, ["STRLEN small", "STRLEN big"]);
    const info = (await run(cli("INFO", "everything"))).stdout;
    expect(strlenCalls(info) - before).toBe(2);
    expect(info).toContain("role:master");
    expect(info).toContain("connected_slaves:0");
    expect(info).toContain("pubsub_channels:0");
    expect(info).toMatch(/db0:keys=3,expires=1,/);
    expect((await run(cli("INFO"))).stdout).not.toContain("cmdstat_");
  });

  test("CONFIG SET maxclients lowers the client limit at once, and never above what the server started with", async () => {
    expect((await run(cli("CONFIG", "SET", "maxclients", "20000"))).stdout).toBe("ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 10000 inclusive\n\n");
    const holder = await RawClient.connect(server.port);
    try {
      await holder.send(resp("CONFIG", "SET", "maxclients", "1"));
      expect(await readReply(holder)).toBe("+OK\r\n");
      const second = await RawClient.connect(server.port);
      expect(await second.line()).toBe("ERR BUSY max clients reached");
      second.close();
    } finally {
      await holder.send(resp("CONFIG", "SET", "maxclients", "10000"));
      expect(await readReply(holder)).toBe("+OK\r\n");
      holder.close();
    }
  });

  test("CONFIG RESETSTAT sets the counters back to zero", async () => {
    await redisCli(server.port, ["STRLEN small", "NOSUCHCOMMAND"]);
    expect((await run(cli("CONFIG", "RESETSTAT"))).stdout).toBe("OK\n");
    const info = (await run(cli("INFO", "everything"))).stdout;
    expect(info).toContain("total_error_replies:0\r\n");
    expect(info).not.toContain("cmdstat_strlen");
    // The INFO that reads them is itself the one command counted since.
    expect(info).toContain("total_commands_processed:1\r\n");
  });
});
