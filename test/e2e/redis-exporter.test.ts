// Debian's prometheus-redis-exporter (oliver006/redis_exporter) pointed at a real Osprey, both on
// loopback: its /metrics says the server is up and has Osprey's numbers — clients, keys per
// database, commands by name, keyspace hits and misses, errors by kind.

import { afterAll, beforeAll, expect, test } from "bun:test";
import { RawClient } from "../support/client.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { resp } from "../resp/encode.ts";
import { readReply } from "../resp/frames.ts";
import { freePort } from "../resp/redis.ts";

let server: RunningServer;
let exporter: ReturnType<typeof Bun.spawn> | null = null;
let exporterLog: Promise<string> = Promise.resolve("");

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  if (exporter !== null) {
    exporter.kill("SIGTERM");
    await exporter.exited;
  }
  await server?.stop();
});

/** The value of the sample `name` (with its labels, as written), or NaN when absent. */
function sample(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}

test("prometheus-redis-exporter scrapes Osprey: redis_up 1, the connected clients and the keys of db0", async () => {
  const writer = await RawClient.connect(server.port);
  const idle = await RawClient.connect(server.port);
  const call = async (...args: string[]) => {
    await writer.send(resp(...args));
    return readReply(writer);
  };
  for (let i = 0; i < 25; i++) expect(await call("SET", `key:${i}`, "value")).toBe("+OK\r\n");
  for (let i = 0; i < 3; i++) expect(await call("EXPIRE", `key:${i}`, "1000")).toBe(":1\r\n");
  for (let i = 0; i < 4; i++) expect(await call("GET", `key:${i}`)).toBe("$5\r\nvalue\r\n");
  expect(await call("GET", "missing")).toBe("$-1\r\n");
  expect(await call("INCR", "key:9")).toStartWith("-ERR value is not an integer");
  await idle.send(resp("PING"));
  expect(await readReply(idle)).toBe("+PONG\r\n");

  const port = freePort();
  exporter = Bun.spawn(
    ["prometheus-redis-exporter", `-redis.addr=redis://127.0.0.1:${server.port}`, `-web.listen-address=127.0.0.1:${port}`, "-redis-only-metrics", "-set-client-name=false"],
    { stdin: "ignore", stdout: "pipe", stderr: "pipe" },
  );
  exporterLog = Promise.all([new Response(exporter.stdout as ReadableStream).text(), new Response(exporter.stderr as ReadableStream).text()]).then((t) => t.join(""));
  let text = "";
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      if (res.status === 200) {
        text = await res.text();
        break;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || exporter.exitCode !== null) {
      exporter.kill("SIGKILL");
      throw new Error(`the exporter did not serve /metrics:\n${await exporterLog}`);
    }
    await Bun.sleep(100);
  }
  try {
    expect(sample(text, "redis_up")).toBe(1);
    // Our two connections and the exporter's own, which INFO counts while it scrapes.
    expect(sample(text, "redis_connected_clients")).toBe(3);
    expect(sample(text, 'redis_db_keys{db="db0"}')).toBe(25);
    expect(sample(text, 'redis_db_keys_expiring{db="db0"}')).toBe(3);
    expect(sample(text, 'redis_commands_total{cmd="set"}')).toBe(25);
    expect(sample(text, 'redis_commands_total{cmd="get"}')).toBe(5);
    expect(sample(text, "redis_keyspace_hits_total")).toBe(4);
    expect(sample(text, "redis_keyspace_misses_total")).toBe(1);
    expect(sample(text, 'redis_errors_total{err="ERR"}')).toBe(1);
    expect(text).toMatch(/^redis_instance_info\{.*redis_version="7\.0\.15".*\} 1$/m);
  } finally {
    writer.close();
    idle.close();
  }
}, 40_000);
