// The command cases run over TCP against one real server process, one connection per case.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { caseConfig, cases, type CommandCase, type Expected } from "../commands/cases.ts";
import { RawClient } from "../support/client.ts";
import { startServer, type RunningServer } from "../support/server.ts";

/** How long a step may wait for its reply before the test reports what did arrive. */
const replyWaitMs = 3000;

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ ...caseConfig });
});

afterAll(async () => {
  await server?.stop();
});

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

/** Reads the reply a step expects: its exact length, or lines until the pattern matches the whole. */
async function readReply(client: RawClient, expected: Expected): Promise<string> {
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

function expectReply(got: string, expected: Expected, what: string): void {
  if (typeof expected === "string") expect(got, what).toBe(expected);
  else if (!expected.test(got)) expect(got, `${what}: reply should match ${expected.source.slice(0, 200)}`).toBe("<a reply matching the pattern>");
}

async function run(c: CommandCase): Promise<void> {
  const client = await RawClient.connect(server.port);
  try {
    for (const [i, step] of c.steps.entries()) {
      const [request, expected, options] = step;
      await client.send(request);
      const got = await readReply(client, expected);
      expectReply(got, expected, `step ${i} (${JSON.stringify(request.slice(0, 80))})`);
      if (options?.thenWaitMs) await Bun.sleep(options.thenWaitMs);
    }
    if (c.closes) {
      const closed = await within(client.closed.then(() => true), replyWaitMs);
      expect(closed, "the server should close the connection").toBe(true);
    } else {
      // Nothing beyond the expected replies, and the connection still answers.
      await client.send("PING\r\n");
      expect(await within(client.line(), replyWaitMs)).toBe("PONG");
      expect(client.buffered).toBe(0);
    }
  } finally {
    client.close();
  }
}

describe("commands over TCP", () => {
  for (const c of cases) test(c.name, () => run(c));
});
