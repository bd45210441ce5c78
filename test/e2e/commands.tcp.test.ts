// The command cases run over TCP against real server processes, one per protocol (each case's keys
// are fresh on its server), one connection per case; the text protocol's framing cases too.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cases } from "../commands/cases.ts";
import { type Case, caseConfig, caseRunsIn, type Protocol, protocols } from "../commands/model.ts";
import { type Link, readTextReply, runCase } from "../commands/runner.ts";
import { type Expected, type FramingCase, framingCases } from "../commands/text-framing.ts";
import { RawClient } from "../support/client.ts";
import { startServer, type RunningServer } from "../support/server.ts";

/** How long a step may wait for its reply before the test reports what did arrive. */
const replyWaitMs = 3000;

/** Resolves with `promise`, or with `undefined` after `ms`; a late rejection is ignored. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  promise.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What arrived on `client` within replyWaitMs: at least one byte and all that is buffered, or "". */
async function arrived(client: RawClient): Promise<string> {
  const first = await within(client.bytes(1), replyWaitMs);
  if (first === undefined) return "";
  const rest = client.buffered > 0 ? await client.bytes(client.buffered) : Buffer.alloc(0);
  return Buffer.concat([first, rest]).toString("latin1");
}

/** One connection to a real server; the observer is a second, text connection to it, opened when needed. */
class TcpLink implements Link {
  #observer: RawClient | undefined;

  private constructor(
    readonly protocol: Protocol,
    readonly client: RawClient,
    readonly port: number,
  ) {}

  static async open(protocol: Protocol, port: number): Promise<TcpLink> {
    return new TcpLink(protocol, await RawClient.connect(port), port);
  }

  send(bytes: string): Promise<void> {
    return this.client.send(bytes);
  }

  more(): Promise<string> {
    return arrived(this.client);
  }

  pause(ms: number): Promise<void> {
    return Bun.sleep(ms);
  }

  nowMs(): number {
    return Date.now();
  }

  async observe(textRequest: string): Promise<string> {
    this.#observer ??= await RawClient.connect(this.port);
    const observer = this.#observer;
    await observer.send(textRequest);
    return readTextReply(() => arrived(observer), ["GET"]);
  }

  close(): void {
    this.client.close();
    this.#observer?.close();
  }
}

/** PING in each protocol, and its reply. */
const ping = { text: ["PING\r\n", "PONG\r\n"], resp: ["*1\r\n$4\r\nPING\r\n", "+PONG\r\n"] } as const;

async function run(c: Case, protocol: Protocol, port: number): Promise<void> {
  const link = await TcpLink.open(protocol, port);
  try {
    await runCase(c, link);
    // Nothing beyond the expected replies, and the connection still answers.
    const [request, reply] = ping[protocol];
    await link.send(request);
    expect((await within(link.client.bytes(reply.length), replyWaitMs))?.toString("latin1"), "the connection should still answer PING").toBe(reply);
    expect(link.client.buffered).toBe(0);
  } finally {
    link.close();
  }
}

for (const protocol of protocols) {
  describe(`commands over TCP in ${protocol}`, () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await startServer({ ...caseConfig });
    });
    afterAll(async () => {
      await server?.stop();
    });
    for (const c of cases) if (caseRunsIn(c, protocol)) test(c.name, () => run(c, protocol, server.port));
  });
}

/** Reads the reply a framing step expects: its exact length, or lines until the pattern matches the whole. */
async function readFramingReply(client: RawClient, expected: Expected): Promise<string> {
  if (expected === "") return "";
  if (typeof expected === "string") {
    const got = await within(client.bytes(Buffer.byteLength(expected, "latin1")), replyWaitMs);
    if (got !== undefined) return got.toString("latin1");
    return `<timed out; had ${client.buffered} bytes: ${(await client.bytes(client.buffered)).toString("latin1")}>`;
  }
  let got = "";
  const deadline = Date.now() + replyWaitMs;
  while (!expected.test(got)) {
    const line = await within(client.line(), deadline - Date.now());
    if (line === undefined) return `<timed out; had ${JSON.stringify(got.slice(0, 500))}>`;
    got += `${line}\r\n`;
  }
  return got;
}

async function runFraming(c: FramingCase, port: number): Promise<void> {
  const client = await RawClient.connect(port);
  try {
    for (const [i, [request, expected]] of c.steps.entries()) {
      await client.send(request);
      const got = await readFramingReply(client, expected);
      const what = `step ${i} (${JSON.stringify(request.slice(0, 80))})`;
      if (typeof expected === "string") expect(got, what).toBe(expected);
      else expect(got, what).toMatch(expected);
    }
    if (c.closes) {
      const closed = await within(client.closed.then(() => true), replyWaitMs);
      expect(closed, "the server should close the connection").toBe(true);
    } else {
      await client.send("PING\r\n");
      expect(await within(client.line(), replyWaitMs)).toBe("PONG");
      expect(client.buffered).toBe(0);
    }
  } finally {
    client.close();
  }
}

describe("text framing over TCP", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ ...caseConfig });
  });
  afterAll(async () => {
    await server?.stop();
  });
  for (const c of framingCases) test(c.name, () => runFraming(c, server.port));
});
