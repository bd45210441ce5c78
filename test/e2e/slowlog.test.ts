// SLOWLOG against a real Osprey: entries come from the dispatcher's timing (slowlog_threshold_ms 0
// logs every request), newest first, bounded by slowlog-max-len, and never hold argument values.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RawClient } from "../support/client.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { resp } from "../resp/encode.ts";
import { readReply } from "../resp/frames.ts";

let server: RunningServer;
let c: RawClient;

async function call(...args: string[]): Promise<string> {
  await c.send(resp(...args));
  return readReply(c);
}

beforeAll(async () => {
  server = await startServer({ slowlog_threshold_ms: 0 });
  c = await RawClient.connect(server.port);
});

afterAll(async () => {
  c?.close();
  await server?.stop();
});

describe("SLOWLOG", () => {
  test("GET answers Redis's six-field entries, newest first, naming the command and counting its arguments without their values", async () => {
    await call("SLOWLOG", "RESET");
    await call("SET", "slow:k", "secret-value");
    await call("GET", "slow:k");
    const reply = await call("SLOWLOG", "GET", "2");
    expect(reply).not.toContain("secret-value");
    const m = /^\*2\r\n\*6\r\n:(\d+)\r\n:(\d+)\r\n:(\d+)\r\n\*2\r\n\$3\r\nget\r\n\$22\r\n\.\.\. \(1 more arguments\)\r\n\$0\r\n\r\n\$0\r\n\r\n\*6\r\n:(\d+)\r\n:\d+\r\n:\d+\r\n\*2\r\n\$3\r\nset\r\n\$22\r\n\.\.\. \(2 more arguments\)\r\n/.exec(reply);
    expect(m, reply).not.toBeNull();
    expect(Number(m![1])).toBe(Number(m![4]) + 1);
    expect(Math.abs(Number(m![2]) - Date.now() / 1000)).toBeLessThan(60);
  });

  test("LEN counts entries, RESET empties the log (the RESET itself is logged after it ran), slowlog-max-len bounds it", async () => {
    expect(await call("SLOWLOG", "RESET")).toBe("+OK\r\n");
    expect(await call("SLOWLOG", "LEN")).toBe(":1\r\n");
    expect(await call("CONFIG", "SET", "slowlog-max-len", "3")).toBe("+OK\r\n");
    for (let i = 0; i < 10; i++) await call("PING");
    expect(await call("SLOWLOG", "LEN")).toBe(":3\r\n");
    expect(await call("CONFIG", "GET", "slowlog-max-len")).toBe("*2\r\n$15\r\nslowlog-max-len\r\n$1\r\n3\r\n");
    expect(await call("SLOWLOG", "GET", "-1")).toStartWith("*3\r\n");
    expect(await call("SLOWLOG", "GET", "-2")).toBe("-ERR count should be greater than or equal to -1\r\n");
    expect(await call("SLOWLOG", "LEN", "x")).toBe("-ERR wrong number of arguments for 'slowlog|len' command\r\n");
    expect(await call("SLOWLOG", "NOPE")).toBe("-ERR unknown subcommand 'NOPE'. Try SLOWLOG HELP.\r\n");
    expect(await call("CONFIG", "SET", "slowlog-max-len", "-1")).toBe("-ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - argument must be between 0 and 100000 inclusive\r\n");
  });

  test("CONFIG SET slowlog-log-slower-than raises the threshold at once: fast commands are no longer logged", async () => {
    expect(await call("CONFIG", "SET", "slowlog-log-slower-than", "10000000")).toBe("+OK\r\n");
    expect(await call("CONFIG", "GET", "slowlog-log-slower-than")).toBe("*2\r\n$23\r\nslowlog-log-slower-than\r\n$8\r\n10000000\r\n");
    await call("SLOWLOG", "RESET");
    for (let i = 0; i < 10; i++) await call("PING");
    expect(await call("SLOWLOG", "LEN")).toBe(":0\r\n");
  });
});
