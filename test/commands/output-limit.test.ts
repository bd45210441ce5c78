// MGET stops building a reply that would pass the connection's output room (the hard limit on
// unsent replies): nothing of it is written and the connection is told to drop the client. The
// same handler serves both protocols; each encoder bounds its own item size.

import { describe, expect, test } from "bun:test";
import { Session } from "../../src/commands/session.ts";
import { mget } from "../../src/commands/strings.ts";
import { textPayloads } from "../../src/commands/table.ts";
import { RespParser } from "../../src/protocol/resp.ts";
import { respDialect } from "../../src/protocol/resp-args.ts";
import { RespReply } from "../../src/protocol/resp-reply.ts";
import { Parsed, TextParser } from "../../src/protocol/text.ts";
import { textDialect } from "../../src/protocol/text-args.ts";
import { TextReply } from "../../src/protocol/text-reply.ts";
import { Writer } from "../../src/protocol/writer.ts";
import { resp } from "../resp/encode.ts";
import { createContext, EngineClient } from "./harness.ts";

const protocols = [
  {
    name: "text",
    request: Buffer.from("MGET a b\r\n", "latin1"),
    session(out: Writer, ctx: ReturnType<typeof createContext>) {
      return new Session(new TextParser({ valueBytesMax: 1 << 20 }, textPayloads), new TextReply(out, ctx.stats), textDialect);
    },
    whole: (v1: string, v2: string) => `VALUE a 1000 1 -1\r\n${v1}\r\nVALUE b 1000 1 -1\r\n${v2}\r\n`,
  },
  {
    name: "RESP",
    request: resp("MGET", "a", "b"),
    session(out: Writer, ctx: ReturnType<typeof createContext>) {
      const reply = new RespReply(out, ctx.stats);
      const s = new Session(new RespParser({ valueBytesMax: 1 << 20 }), reply, respDialect);
      return s;
    },
    whole: (v1: string, v2: string) => `*2\r\n$1000\r\n${v1}\r\n$1000\r\n${v2}\r\n`,
  },
] as const;

describe.each(protocols)("MGET over $name", ({ request, session, whole }) => {
  test("an MGET whose reply would pass the output room writes nothing and flags the overflow", () => {
    const client = new EngineClient(createContext());
    const v1 = "x".repeat(1000);
    const v2 = "y".repeat(1000);
    expect(client.send(`SET a 1000\r\n${v1}\r\nSET b 1000\r\n${v2}\r\n`)).toBe("OK 1\r\nOK 1\r\n");
    const ctx = client.ctx;
    const out = new Writer();
    const s = session(out, ctx);
    expect((s.p as TextParser | RespParser).parse(request, 0, request.length)).toBe(Parsed.Command);
    s.b = request;
    s.nowMs = Date.now();

    out.text("earlier reply\r\n");
    ctx.outputRoom = 1500; // room for the first value, not the second
    ctx.outputOverflow = false;
    mget(s, ctx);
    expect(ctx.outputOverflow).toBe(true);
    expect(out.buf.toString("latin1", 0, out.len)).toBe("earlier reply\r\n");

    ctx.outputRoom = 1 << 20;
    ctx.outputOverflow = false;
    mget(s, ctx);
    expect(ctx.outputOverflow).toBe(false);
    expect(out.buf.toString("latin1", 0, out.len)).toBe(`earlier reply\r\n${whole(v1, v2)}`);
  });
});
