// End to end over TCP against the real server process: framing, pipelining, binary safety,
// oversize and unrecoverable input, bare-LF sessions, slow readers and max_clients.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RawClient } from "../support/client.ts";
import { startServer, type RunningServer } from "../support/server.ts";

const MiB = 1024 * 1024;
const lineBytesMax = 1 * MiB; // src/constants.ts lineBytesMax

/** Reads one `VALUE [key] <len> <version> <expiry>` reply: its header line and its exact bytes. */
async function readValue(c: RawClient): Promise<{ header: string; body: Buffer }> {
  const header = await c.line();
  const m = /^VALUE (?:\S+ )?(\d+) \d+ -?\d+$/.exec(header);
  if (!m) throw new Error(`expected a VALUE reply, got ${JSON.stringify(header)}`);
  const body = await c.bytes(Number(m[1]));
  const crlf = await c.bytes(2);
  if (crlf.toString("latin1") !== "\r\n") throw new Error(`value not followed by CRLF: ${JSON.stringify(crlf.toString("latin1"))}`);
  return { header, body };
}

/** `SET <key> <len>\r\n<value>\r\n` as bytes. */
function setRequest(key: string, value: Uint8Array, options = ""): Buffer {
  return Buffer.concat([Buffer.from(`SET ${key} ${value.length}${options}\r\n`, "latin1"), value, Buffer.from("\r\n")]);
}

/** Every byte value 0..255 once, in order. */
const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

describe("with default limits", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  test("10,000 pipelined SET/GET/INCR requests sent in one write get 10,000 correct replies in order", async () => {
    const c = await RawClient.connect(server.port);
    const model = new Map<string, { value: string; version: number }>();
    const counters = new Map<string, number>();
    const requests: Buffer[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      if (i % 3 === 0) {
        const key = `pk${i % 50}`;
        const value = `v${i}-${"x".repeat(i % 17)}`;
        const version = (model.get(key)?.version ?? 0) + 1;
        model.set(key, { value, version });
        requests.push(Buffer.from(`SET ${key} ${value.length}\r\n${value}\r\n`));
        expected.push(`OK ${version}`);
      } else if (i % 3 === 1) {
        const key = `pk${(i * 7) % 53}`;
        const entry = model.get(key);
        requests.push(Buffer.from(`GET ${key}\r\n`));
        expected.push(entry ? `VALUE ${entry.value.length} ${entry.version} -1\r\n${entry.value}\r\n` : "NOT_FOUND");
      } else {
        const key = `pc${i % 5}`;
        const n = (counters.get(key) ?? 0) + 1;
        counters.set(key, n);
        requests.push(Buffer.from(`INCR ${key}\r\n`));
        expected.push(String(n));
      }
    }
    await c.send(Buffer.concat(requests));
    for (let i = 0; i < expected.length; i++) {
      const got = await c.reply();
      if (got !== expected[i]) expect(`reply ${i}: ${got}`).toBe(`reply ${i}: ${expected[i]}`);
    }
    expect(await c.request("PING\r\n")).toBe("PONG");
    expect(c.buffered).toBe(0);
    c.close();
  });

  test("a SET with a binary payload and a GET delivered one byte at a time work", async () => {
    const c = await RawClient.connect(server.port);
    const value = Buffer.from("ab\r\ncd\0ef\r", "latin1"); // ends in CR: the trailer CRLF arrives split
    await c.sendInPieces(Buffer.concat([setRequest("bytewise", value), Buffer.from("GET bytewise\r\n")]), 1);
    expect(await c.line()).toBe("OK 1");
    const { header, body } = await readValue(c);
    expect(header).toBe(`VALUE ${value.length} 1 -1`);
    expect(body.equals(value)).toBe(true);
    c.close();
  });

  test("values holding CRLF, NUL and all 256 byte values round-trip exactly through SET and GET", async () => {
    const c = await RawClient.connect(server.port);
    const values: Record<string, Buffer> = {
      all256: allBytes,
      all256reversed: Buffer.from(allBytes).reverse(),
      crlf: Buffer.from("\r\n"),
      crlfcrlf: Buffer.from("\r\n\r\n"),
      lone_cr: Buffer.from("\r"),
      lone_lf: Buffer.from("\n"),
      nul: Buffer.from([0]),
      nuls: Buffer.alloc(1000),
      empty: Buffer.alloc(0),
      fake_reply: Buffer.from("OK 1\r\nVALUE 3 1 -1\r\nabc\r\nGET all256\r\n"),
    };
    for (const [key, value] of Object.entries(values)) {
      await c.send(setRequest(key, value));
      expect(await c.line()).toBe("OK 1");
    }
    for (const [key, value] of Object.entries(values)) {
      await c.send(`GET ${key}\r\n`);
      const { header, body } = await readValue(c);
      expect(header).toBe(`VALUE ${value.length} 1 -1`);
      expect(body.equals(value)).toBe(true);
    }
    c.close();
  });

  test("values holding CRLF, NUL and all 256 byte values round-trip exactly through MSET and MGET", async () => {
    const c = await RawClient.connect(server.port);
    const entries: [string, Buffer][] = [
      ["m_all256", allBytes],
      ["m_crlf", Buffer.from("\r\n")],
      ["m_empty", Buffer.alloc(0)],
      ["m_nul_cr", Buffer.from([0, 13])],
      ["m_tail_cr", Buffer.from("x\r")],
    ];
    const line = `MSET ${entries.map(([k, v]) => `${k} ${v.length}`).join(" ")}\r\n`;
    await c.send(Buffer.concat([Buffer.from(line), ...entries.map(([, v]) => v), Buffer.from("\r\n")]));
    expect(await c.line()).toBe(`OK ${entries.length}`);
    await c.send(`MGET ${entries.map(([k]) => k).join(" ")} m_missing\r\n`);
    for (const [key, value] of entries) {
      const { header, body } = await readValue(c);
      expect(header).toBe(`VALUE ${key} ${value.length} 1 -1`);
      expect(body.equals(value)).toBe(true);
    }
    expect(await c.line()).toBe("NOT_FOUND m_missing");
    c.close();
  });

  test("a command line longer than 1 MiB is answered ERR BADREQ command line too long and the connection is closed", async () => {
    const c = await RawClient.connect(server.port);
    // Exactly one byte over the limit and no LF: the server has read everything we sent when it
    // gives up, so it closes with FIN (unread input would turn the close into a reset).
    const line = "GET " + "a".repeat(lineBytesMax - 3);
    await c.send(line).catch(() => {});
    expect(await c.line()).toBe("ERR BADREQ command line too long");
    await c.waitClosed();
    c.close();
  });

  test("a command line longer than 1 MiB that does end in CRLF is refused the same way", async () => {
    const c = await RawClient.connect(server.port);
    await c.send("PING" + " ".repeat(lineBytesMax) + "\r\n").catch(() => {});
    expect(await c.line()).toBe("ERR BADREQ command line too long");
    await c.waitClosed();
  });

  test("a command line just under 1 MiB is still accepted", async () => {
    const c = await RawClient.connect(server.port);
    expect(await c.request("PING" + " ".repeat(lineBytesMax - 8) + "\r\n")).toBe("PONG");
    expect(await c.request("PING\r\n")).toBe("PONG");
    c.close();
  });

  test("a payload not followed by CRLF is answered ERR BADREQ payload not followed by CRLF and the connection is closed", async () => {
    const c = await RawClient.connect(server.port);
    await c.send("SET trailer 3\r\nabcXY\r\n");
    expect(await c.line()).toBe("ERR BADREQ payload not followed by CRLF");
    await c.waitClosed();
    const other = await RawClient.connect(server.port);
    expect(await other.request("EXISTS trailer\r\n")).toBe("EXISTS 0");
    other.close();
  });

  test("an MSET payload not followed by CRLF closes the connection and writes nothing", async () => {
    const c = await RawClient.connect(server.port);
    await c.send("MSET tm1 1 tm2 1\r\nab!!");
    expect(await c.line()).toBe("ERR BADREQ payload not followed by CRLF");
    await c.waitClosed();
    const other = await RawClient.connect(server.port);
    await other.send("MGET tm1 tm2\r\n");
    expect(await other.line()).toBe("NOT_FOUND tm1");
    expect(await other.line()).toBe("NOT_FOUND tm2");
    other.close();
  });

  test("every other bad request gets an ERR reply and leaves the connection usable", async () => {
    const c = await RawClient.connect(server.port);
    const cases: [string, string][] = [
      ["FROBNICATE\r\n", "ERR BADREQ unknown command"],
      ["GET\r\n", "ERR BADREQ wrong number of arguments"],
      ["GET a b\r\n", "ERR BADREQ wrong number of arguments"],
      ["SET k abc\r\n", "ERR BADREQ length is not a non-negative integer"],
      ["SET k -1\r\n", "ERR BADREQ length is not a non-negative integer"],
      ["SET k 1 EX 0\r\nx\r\n", "ERR BADREQ EX needs a positive integer of milliseconds"],
      ["SET k 1 BOGUS\r\nx\r\n", "ERR BADREQ unknown option"],
      ["SET k 1 NX XX\r\nx\r\n", "ERR BADREQ NX and XX cannot be combined"],
      ["MSET a 1 b\r\n", "ERR BADREQ MSET needs key and length pairs"],
      [`GET ${"k".repeat(257)}\r\n`, "ERR TOOLARGE key too large"],
      ["GET a\x01b\r\n", "ERR BADREQ key contains invalid characters"],
      ["SET notint 3\r\nabc\r\n", "OK 1"],
      ["INCR notint\r\n", "ERR TYPE value is not an integer"],
      ["SET notint 1 NX\r\nx\r\n", "ERR EXISTS key already exists"],
      ["SET nokey 1 XX\r\nx\r\n", "ERR NEXISTS key does not exist"],
      ["SET notint 1 VER 7\r\nx\r\n", "ERR VER version mismatch"],
    ];
    // Once one at a time, then all pipelined in a single write.
    for (const [request, reply] of cases) {
      expect(`${JSON.stringify(request.slice(0, 40))} → ${await c.request(request)}`).toBe(`${JSON.stringify(request.slice(0, 40))} → ${reply}`);
      expect(await c.request("PING\r\n")).toBe("PONG");
    }
    await c.send("DEL notint\r\n" + cases.map(([r]) => r).join("") + "PING\r\n");
    expect(await c.reply()).toMatch(/^DELETED [01]$/);
    for (const [request, reply] of cases) expect(`${JSON.stringify(request.slice(0, 40))} → ${await c.reply()}`).toBe(`${JSON.stringify(request.slice(0, 40))} → ${reply}`);
    expect(await c.reply()).toBe("PONG");
    expect(c.isClosed).toBe(false);
    c.close();
  });

  test("a telnet-style session with bare LF line endings works, payload included", async () => {
    const c = await RawClient.connect(server.port);
    await c.send("PING\n");
    expect(await c.line()).toBe("PONG");
    await c.send("SET tn 5\n");
    await c.send("hello\n");
    expect(await c.line()).toBe("OK 1");
    await c.send("GET tn\n");
    const { header, body } = await readValue(c);
    expect(header).toBe("VALUE 5 1 -1");
    expect(body.toString()).toBe("hello");
    // And mixed, pipelined, with an empty line that gets no reply.
    await c.send("\nSET tn 2\nhi\nINCR tc\nget tn\r\nDEL tn\n");
    expect(await c.line()).toBe("OK 2");
    expect(await c.line()).toBe("1");
    expect((await readValue(c)).body.toString()).toBe("hi");
    expect(await c.line()).toBe("DELETED 1");
    c.close();
  });
});

describe("with max_value_bytes = 1024", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ max_value_bytes: 1024 });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  // A payload that would answer PONG many times over if any of it were parsed as requests.
  const decoy = (n: number) => Buffer.from("PING\r\n".repeat(Math.ceil(n / 6)).slice(0, n), "latin1");

  test("a value of exactly max_value_bytes is stored and one byte more is refused", async () => {
    const c = await RawClient.connect(server.port);
    expect(await c.request(setRequest("edge", Buffer.alloc(1024, 0x61)))).toBe("OK 1");
    await c.send("SET edge 1025\r\n");
    expect(await c.line()).toBe("ERR TOOLARGE value too large");
    await c.send(Buffer.concat([decoy(1025), Buffer.from("\r\n")]));
    expect(await c.request("GET edge\r\n")).toBe(`VALUE 1024 1 -1\r\n${"a".repeat(1024)}\r\n`);
    c.close();
  });

  test("an oversize SET is answered ERR TOOLARGE before its payload is sent, the payload is discarded and the connection stays usable", async () => {
    const c = await RawClient.connect(server.port);
    await c.send("SET big 5000\r\n");
    // The reply arrives although not one payload byte has been sent.
    expect(await c.line()).toBe("ERR TOOLARGE value too large");
    const payload = decoy(5000);
    for (let at = 0; at < payload.length; at += 1499) await c.sendInPieces(payload.subarray(at, at + 1499), 1499);
    await c.sendInPieces("\r\n", 1); // CR and LF in separate reads
    expect(await c.request("PING\r\n")).toBe("PONG");
    expect(await c.request("EXISTS big\r\n")).toBe("EXISTS 0");
    expect(c.buffered).toBe(0);
    c.close();
  });

  test("an MSET with one oversize length is answered ERR TOOLARGE at once, its payloads are discarded and no key is written", async () => {
    const c = await RawClient.connect(server.port);
    await c.send("MSET ma 3 mb 5000 mc 2\r\n");
    expect(await c.line()).toBe("ERR TOOLARGE value too large");
    const payload = Buffer.concat([Buffer.from("xyz"), decoy(5000), Buffer.from("zz\r\n")]);
    for (let at = 0; at < payload.length; at += 1000) await c.sendInPieces(payload.subarray(at, at + 1000), 1000);
    expect(await c.request("PING\r\n")).toBe("PONG");
    await c.send("MGET ma mb mc\r\n");
    expect(await c.line()).toBe("NOT_FOUND ma");
    expect(await c.line()).toBe("NOT_FOUND mb");
    expect(await c.line()).toBe("NOT_FOUND mc");
    expect(c.buffered).toBe(0);
    c.close();
  });

  test("an oversize payload whose trailer is not CRLF is refused and the connection is closed", async () => {
    const c = await RawClient.connect(server.port);
    await c.send("SET big 2000\r\n");
    expect(await c.line()).toBe("ERR TOOLARGE value too large");
    await c.send(Buffer.concat([decoy(2000), Buffer.from("XX")]));
    expect(await c.line()).toBe("ERR BADREQ payload not followed by CRLF");
    await c.waitClosed();
  });

  test("a SET announcing 10^14 bytes is refused at once and costs the server no memory", async () => {
    const other = await RawClient.connect(server.port);
    expect(await other.request("PING\r\n")).toBe("PONG");
    const rssBefore = server.rssBytes();

    const c = await RawClient.connect(server.port);
    await c.send("SET huge 100000000000000\r\n");
    expect(await c.line()).toBe("ERR TOOLARGE value too large");
    // Stream 16 MiB of the announced payload: it is dropped as it arrives, never buffered.
    const chunk = decoy(MiB);
    for (let i = 0; i < 16; i++) await c.send(chunk);
    c.close();
    await c.waitClosed();

    expect(await other.request("PING\r\n")).toBe("PONG");
    expect(server.proc.exitCode).toBeNull();
    const grownMiB = (server.rssBytes() - rssBefore) / MiB;
    expect(grownMiB).toBeLessThan(32);
    other.close();
  }, 20000);
});

describe("a client that does not read", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  test("pipelining 64 MiB of replies while not reading keeps server memory bounded, other clients served, and every byte arrives in order", async () => {
    const keys = 4;
    const values = Array.from({ length: keys }, (_, k) => {
      const v = Buffer.allocUnsafe(MiB);
      for (let i = 0; i < v.length; i++) v[i] = (i * 31 + k * 7 + (i >> 10)) & 0xff; // every byte value, CR and LF included
      return v;
    });
    const slow = await RawClient.connect(server.port);
    for (let k = 0; k < keys; k++) expect(await slow.request(setRequest(`big${k}`, values[k]!))).toBe("OK 1");
    const other = await RawClient.connect(server.port);
    expect(await other.request("PING\r\n")).toBe("PONG");
    const rssBefore = server.rssBytes();

    const gets = 64;
    slow.pause();
    let pipeline = "";
    for (let i = 0; i < gets; i++) pipeline += `GET big${i % keys}\r\nINCR seq\r\n`;
    await slow.send(pipeline);

    // While the slow client reads nothing, another client is answered promptly, again and again.
    let rssMax = 0;
    let pingMaxMs = 0;
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      expect(await other.request("PING\r\n")).toBe("PONG");
      pingMaxMs = Math.max(pingMaxMs, performance.now() - started);
      rssMax = Math.max(rssMax, server.rssBytes());
    }
    expect(pingMaxMs).toBeLessThan(2000);
    const grownMiB = (rssMax - rssBefore) / MiB;
    expect(grownMiB).toBeLessThan(32); // 64 MiB of replies were asked for; the soft limit is 4 MiB

    slow.resume();
    for (let i = 0; i < gets; i++) {
      const { header, body } = await readValue(slow);
      expect(header).toBe(`VALUE ${MiB} 1 -1`);
      if (!body.equals(values[i % keys]!)) throw new Error(`GET ${i} (big${i % keys}) returned different bytes`);
      expect(await slow.line()).toBe(String(i + 1));
    }
    expect(await slow.request("PING\r\n")).toBe("PONG");
    expect(slow.buffered).toBe(0);
    slow.close();
    other.close();
  }, 25000);
});

describe("with max_clients = 3", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ max_clients: 3 });
  });
  afterAll(async () => {
    expect(await server.stop()).toBe(0);
  });

  test("a 4th connection gets ERR BUSY max clients reached and is closed; after a client leaves a new one is accepted", async () => {
    const clients = await Promise.all([0, 1, 2].map(() => RawClient.connect(server.port)));
    for (const c of clients) expect(await c.request("PING\r\n")).toBe("PONG");

    const fourth = await RawClient.connect(server.port);
    expect(await fourth.line()).toBe("ERR BUSY max clients reached");
    await fourth.waitClosed();

    clients[0]!.close();
    await clients[0]!.waitClosed();
    // The server notices the close in its own time: wait until it counts two clients.
    const deadline = Date.now() + 10000;
    let stats = await clients[1]!.stats();
    while (stats.clients !== "2" && Date.now() < deadline) {
      await Bun.sleep(10);
      stats = await clients[1]!.stats();
    }
    expect(stats.clients).toBe("2");
    expect(stats.rejected_clients_total).toBe("1");

    const fresh = await RawClient.connect(server.port);
    expect(await fresh.request("PING\r\n")).toBe("PONG");
    expect(fresh.isClosed).toBe(false);
    for (const c of [clients[1]!, clients[2]!, fresh]) c.close();
  });
});
