// A large MGET is answered in slices (mgetSliceKeys keys or mgetSliceBytes of reply), yielding the
// event loop between them: other clients run in between, the reply is still whole and in order,
// requests pipelined behind it wait for it, and inside EXEC it runs whole.

import { describe, expect, test } from "bun:test";
import { mgetSliceBytes, mgetSliceKeys } from "../../src/constants.ts";
import { createContext, EngineClient } from "./harness.ts";

/** Feeds `request`, then lets scheduled slices run until the reply stops growing; returns all of it. */
async function sendAndFinish(c: EngineClient, request: string): Promise<string> {
  let reply = c.send(request);
  for (let idle = 0; idle < 3; ) {
    await new Promise((r) => setImmediate(r));
    const more = c.transport.take();
    reply += more;
    idle = more === "" ? idle + 1 : 0;
  }
  return reply;
}

function bulk(s: string): string {
  return `$${s.length}\r\n${s}\r\n`;
}

function resp(...args: string[]): string {
  return `*${args.length}\r\n${args.map(bulk).join("")}`;
}

describe("MGET in slices", () => {
  test("an MGET of more keys than a slice yields between slices: another client runs in between, and the reply is whole", async () => {
    const ctx = createContext();
    const a = new EngineClient(ctx);
    const b = new EngineClient(ctx);
    const n = 2 * mgetSliceKeys + 10;
    const keys = Array.from({ length: n }, (_, i) => `k${i}`);
    let load = "";
    for (const k of keys) load += resp("SET", k, `v-${k}`);
    expect(b.send(load)).toBe("+OK\r\n".repeat(n));

    const first = a.send(resp("MGET", ...keys));
    // Only the first slice has run: the array header and mgetSliceKeys values.
    expect(first.startsWith(`*${n}\r\n`)).toBe(true);
    expect(first.split("\r\n$").length - 1).toBe(mgetSliceKeys);
    // b runs before a's next slice, and a's later keys see b's write.
    const last = keys[n - 1]!;
    expect(b.send(resp("SET", last, "changed"))).toBe("+OK\r\n");
    const rest = await sendAndFinish(a, "");
    const expected = `*${n}\r\n${keys.map((k) => bulk(k === last ? "changed" : `v-${k}`)).join("")}`;
    expect(first + rest).toBe(expected);
  });

  test("requests pipelined behind a sliced MGET are answered after it, in order", async () => {
    const ctx = createContext();
    const a = new EngineClient(ctx);
    const n = mgetSliceKeys + 1;
    const keys = Array.from({ length: n }, (_, i) => `m${i}`);
    const reply = await sendAndFinish(a, resp("MGET", ...keys) + resp("SET", "after", "1") + resp("GET", "after"));
    expect(reply).toBe(`*${n}\r\n${"$-1\r\n".repeat(n)}+OK\r\n${bulk("1")}`);
  });

  test("a reply past mgetSliceBytes is cut into slices too, in the text protocol as well", async () => {
    const ctx = createContext({ max_value_bytes: 4 * mgetSliceBytes });
    const a = new EngineClient(ctx);
    const value = "x".repeat(mgetSliceBytes / 2 + 1);
    expect(a.send(`SET big ${value.length}\r\n${value}\r\n`)).toBe("OK 1\r\n");
    const first = a.send("MGET big big big big\r\n");
    const entry = `VALUE big ${value.length} 1 -1\r\n${value}\r\n`;
    // The slice ends once it passed mgetSliceBytes: after two values.
    expect(first).toBe(entry.repeat(2));
    expect(first + (await sendAndFinish(a, ""))).toBe(entry.repeat(4));
  });

  test("inside EXEC an MGET runs whole: nothing runs between its slices", async () => {
    const ctx = createContext();
    const a = new EngineClient(ctx);
    const n = mgetSliceKeys + 5;
    const keys = Array.from({ length: n }, (_, i) => `x${i}`);
    expect(a.send(resp("MULTI"))).toBe("+OK\r\n");
    expect(a.send(resp("MGET", ...keys))).toBe("+QUEUED\r\n");
    const exec = a.send(resp("EXEC"));
    expect(exec).toBe(`*1\r\n*${n}\r\n${"$-1\r\n".repeat(n)}`);
  });

  test("a client that closes while its MGET waits for the next slice is simply gone", async () => {
    const ctx = createContext();
    const a = new EngineClient(ctx);
    const keys = Array.from({ length: mgetSliceKeys + 1 }, (_, i) => `c${i}`);
    a.send(resp("MGET", ...keys));
    a.connection.onClose();
    await new Promise((r) => setImmediate(r));
    expect(a.transport.take()).toBe("");
    expect(ctx.input.bytes).toBe(0);
  });
});
