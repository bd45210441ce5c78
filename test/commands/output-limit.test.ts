// MGET stops building a reply that would pass the connection's output room (the hard limit on
// unsent replies): nothing of it is written and the connection is told to drop the client.

import { expect, test } from "bun:test";
import { mget } from "../../src/commands/multi.ts";
import { Parsed, TextParser } from "../../src/protocol/text.ts";
import { Writer } from "../../src/protocol/writer.ts";
import { createContext, EngineClient } from "./harness.ts";

test("an MGET whose reply would pass the output room writes nothing and flags the overflow", () => {
  const client = new EngineClient(createContext());
  const value = "v".repeat(1000);
  expect(client.send(`SET a 1000\r\n${value}\r\nSET b 1000\r\n${value}\r\n`)).toBe("OK 1\r\nOK 1\r\n");
  const ctx = client.ctx;
  const request = Buffer.from("MGET a b\r\n", "latin1");
  const parser = new TextParser({ valueBytesMax: 1 << 20 });
  expect(parser.parse(request, 0, request.length)).toBe(Parsed.Command);

  const out = new Writer();
  out.text("earlier reply\r\n");
  ctx.outputRoom = 1500; // room for the first value, not the second
  ctx.outputOverflow = false;
  mget(parser, request, out, ctx, Date.now());
  expect(ctx.outputOverflow).toBe(true);
  expect(out.buf.toString("latin1", 0, out.len)).toBe("earlier reply\r\n");

  ctx.outputRoom = 1 << 20;
  ctx.outputOverflow = false;
  mget(parser, request, out, ctx, Date.now());
  expect(ctx.outputOverflow).toBe(false);
  expect(out.len).toBeGreaterThan(2000);
});
