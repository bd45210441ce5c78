// The resumable text parser: NeedMore vs Command vs Error, framing, payloads, limits and resync.

import { describe, expect, test } from "bun:test";
import { argsCountMax, lineBytesMax, msetPayloadBytesMax } from "../../src/constants.ts";
import { Err } from "../../src/errors.ts";
import { nameCode, nameCodeOf, Parsed, parseLength, TextParser } from "../../src/protocol/text.ts";
import { textPayloads } from "../../src/commands/table.ts";

const bytes = (s: string) => Buffer.from(s, "latin1");
const text = (b: Uint8Array) => Buffer.from(b).toString("latin1");

type Event =
  | { kind: "command"; tokens: string[]; payload: string }
  | { kind: "error"; reply: string; close: boolean };

/** Tokens and payload of the command the parser just returned, as text. */
function commandOf(p: TextParser, buf: Uint8Array): Event {
  const tokens: string[] = [];
  for (let i = 0; i < p.argc; i++) tokens.push(text(buf.subarray(p.starts[i]!, p.ends[i]!)));
  return { kind: "command", tokens, payload: text(buf.subarray(p.payloadStart, p.payloadEnd)) };
}

/**
 * Drives one parser the way a connection does: keeps the unparsed tail after NeedMore, appends
 * the next chunk to it, and stops for good after an error that closes.
 */
class Feeder {
  readonly parser: TextParser;
  #pending: Buffer = Buffer.alloc(0);
  closed = false;
  /** Largest unparsed tail kept between calls: what the connection would buffer. */
  keptMax = 0;

  constructor(valueBytesMax = 1024) {
    this.parser = new TextParser({ valueBytesMax }, textPayloads);
  }

  feed(chunk: string | Uint8Array): Event[] {
    if (this.closed) throw new Error("fed a closed connection");
    const data = typeof chunk === "string" ? bytes(chunk) : chunk;
    const buf = this.#pending.length === 0 ? data : Buffer.concat([this.#pending, data]);
    const events: Event[] = [];
    const p = this.parser;
    let pos = 0;
    while (pos < buf.length) {
      const r = p.parse(buf, pos, buf.length);
      if (r === Parsed.NeedMore) {
        expect(p.next).toBeGreaterThanOrEqual(pos);
        pos = p.next;
        break;
      }
      if (r === Parsed.Error) {
        events.push({ kind: "error", reply: text(p.error), close: p.close });
        pos = p.next;
        if (p.close) {
          this.closed = true;
          break;
        }
        continue;
      }
      events.push(commandOf(p, buf));
      expect(p.next).toBeGreaterThan(pos);
      pos = p.next;
    }
    this.#pending = Buffer.from(buf.subarray(pos));
    this.keptMax = Math.max(this.keptMax, this.#pending.length);
    return events;
  }

  get pendingBytes(): number {
    return this.#pending.length;
  }
}

/**
 * The event for a command written as its line's tokens and its payload. The parser points each
 * length token of SET and MSET at its payload bytes, so those tokens are expected as the payloads.
 */
function cmd(line: string[], payload = ""): Event {
  const name = line[0]!.toUpperCase();
  const tokens = [...line];
  const lengths = name === "SET" && tokens.length >= 3 ? [2] : name === "MSET" ? tokens.map((_, i) => i).filter((i) => i >= 2 && i % 2 === 0) : [];
  let at = 0;
  for (const t of lengths) {
    const n = Number(tokens[t]);
    tokens[t] = payload.slice(at, at + n);
    at += n;
  }
  return { kind: "command", tokens, payload };
}
const err = (reply: Uint8Array, close = false): Event => ({ kind: "error", reply: text(reply), close });

describe("three answers", () => {
  test("an incomplete line answers NeedMore and leaves next at the line's start", () => {
    const p = new TextParser({ valueBytesMax: 1024 }, textPayloads);
    const buf = bytes("GET ke");
    expect(p.parse(buf, 0, buf.length)).toBe(Parsed.NeedMore);
    expect(p.next).toBe(0);
  });

  test("a whole line answers Command with its tokens and next after the LF", () => {
    const p = new TextParser({ valueBytesMax: 1024 }, textPayloads);
    const buf = bytes("GET key\r\nPING\r\n");
    expect(p.parse(buf, 0, buf.length)).toBe(Parsed.Command);
    expect(commandOf(p, buf)).toEqual(cmd(["GET", "key"]));
    expect(p.code).toBe(nameCodeOf("GET"));
    expect(p.next).toBe(9);
    expect(p.parse(buf, p.next, buf.length)).toBe(Parsed.Command);
    expect(commandOf(p, buf)).toEqual(cmd(["PING"]));
    expect(p.next).toBe(buf.length);
  });

  test("bad input answers Error with a reply and where to continue", () => {
    const p = new TextParser({ valueBytesMax: 1024 }, textPayloads);
    const buf = bytes("SET k x\r\nPING\r\n");
    expect(p.parse(buf, 0, buf.length)).toBe(Parsed.Error);
    expect(text(p.error)).toBe(text(Err.badLength));
    expect(p.close).toBe(false);
    expect(p.next).toBe(9);
    expect(p.parse(buf, p.next, buf.length)).toBe(Parsed.Command);
    expect(commandOf(p, buf)).toEqual(cmd(["PING"]));
  });

  test("parsing from a non-zero position ignores the bytes before it", () => {
    const p = new TextParser({ valueBytesMax: 1024 }, textPayloads);
    const buf = bytes("garbage that is not a line GET a\r\n");
    expect(p.parse(buf, 27, buf.length)).toBe(Parsed.Command);
    expect(commandOf(p, buf)).toEqual(cmd(["GET", "a"]));
  });
});

describe("lines", () => {
  test("a line fed one byte at a time is parsed once its LF arrives", () => {
    const f = new Feeder();
    const line = "GET some-key\r\n";
    for (let i = 0; i < line.length - 1; i++) expect(f.feed(line[i]!)).toEqual([]);
    expect(f.feed("\n")).toEqual([cmd(["GET", "some-key"])]);
    expect(f.pendingBytes).toBe(0);
  });

  test("a partial line resumed after other bytes were scanned still finds its LF", () => {
    const f = new Feeder();
    expect(f.feed("PING\r\nGET ab")).toEqual([cmd(["PING"])]);
    expect(f.feed("cd")).toEqual([]);
    expect(f.feed("ef\r\nDEL x\n")).toEqual([cmd(["GET", "abcdef"]), cmd(["DEL", "x"])]);
  });

  test("a bare LF ends a line like CRLF does", () => {
    const f = new Feeder();
    expect(f.feed("PING\nGET a\nDEL b\r\n")).toEqual([cmd(["PING"]), cmd(["GET", "a"]), cmd(["DEL", "b"])]);
  });

  test("a CR split from its LF across two reads is not part of the last token", () => {
    const f = new Feeder();
    expect(f.feed("GET a\r")).toEqual([]);
    expect(f.feed("\n")).toEqual([cmd(["GET", "a"])]);
  });

  test("empty and blank lines are skipped without any answer", () => {
    const f = new Feeder();
    expect(f.feed("\r\n\n   \r\n\t\t\n \t \r\nPING\r\n\r\n")).toEqual([cmd(["PING"])]);
    expect(f.pendingBytes).toBe(0);
  });

  test("a buffer of only empty lines answers NeedMore with nothing left to keep", () => {
    const p = new TextParser({ valueBytesMax: 1024 }, textPayloads);
    const buf = bytes("\r\n\n\r\n");
    expect(p.parse(buf, 0, buf.length)).toBe(Parsed.NeedMore);
    expect(p.next).toBe(buf.length);
  });

  test("tabs and runs of spaces separate tokens and leading or trailing blanks are ignored", () => {
    const f = new Feeder();
    expect(f.feed(" \tMGET\ta  b\t \tc \t\r\n")).toEqual([cmd(["MGET", "a", "b", "c"])]);
  });

  test("a CR inside a line is part of a token, only the one before the LF is dropped", () => {
    const f = new Feeder();
    expect(f.feed("GET a\rb\r\n")).toEqual([cmd(["GET", "a\rb"])]);
  });

  test("bytes of 0x80 and above are kept as they are in tokens", () => {
    const f = new Feeder();
    expect(f.feed("GET \xc3\xa9t\xc3\xa9\r\n")).toEqual([cmd(["GET", "\xc3\xa9t\xc3\xa9"])]);
  });

  test("the line with the most tokens that fits the line limit is parsed whole", () => {
    const n = lineBytesMax / 2; // "a a a … a": two bytes per token, minus the last space
    expect(n).toBe(argsCountMax);
    const line = Buffer.alloc(2 * n - 1 + 1, "a ");
    line[line.length - 1] = 10;
    const p = new TextParser({ valueBytesMax: 1024 }, textPayloads);
    expect(p.parse(line, 0, line.length)).toBe(Parsed.Command);
    expect(p.argc).toBe(n);
    expect(p.starts[n - 1]).toBe(2 * n - 2);
    expect(p.ends[n - 1]).toBe(2 * n - 1);
  });
});

describe("command names", () => {
  test("nameCode is case-insensitive", () => {
    const a = bytes("get");
    const b = bytes("GeT");
    expect(nameCode(a, 0, 3)).toBe(nameCode(b, 0, 3));
    expect(nameCode(a, 0, 3)).toBe(nameCodeOf("GET"));
  });

  test("nameCode gives different codes to different names", () => {
    const names = ["PING", "GET", "SET", "DEL", "EXISTS", "EXPIRE", "TTL", "INCR", "DECR", "MGET", "MSET", "STATS", "EX", "PXAT", "NX", "XX", "VER", "KEEPTTL", "A", "AA", "B"];
    const codes = new Set(names.map(nameCodeOf));
    expect(codes.size).toBe(names.length);
  });

  test("nameCode tells eleven-letter names apart, down to their last letter", () => {
    const names = ["PEXPIRETIME", "PEXPIRETIMF", "INCRBYFLOAT", "ZZZZZZZZZZZ", "ZZZZZZZZZZY", "AAAAAAAAAAA", "AAAAAAAAAAB"];
    expect(new Set(names.map(nameCodeOf)).size).toBe(names.length);
    expect(Number.isSafeInteger(nameCodeOf("ZZZZZZZZZZZ"))).toBe(true);
  });

  test("nameCode is -1 for names longer than eleven letters or holding non-letters", () => {
    expect(nameCodeOf("ABCDEFGHIJK")).toBeGreaterThan(0);
    expect(nameCodeOf("ABCDEFGHIJKL")).toBe(-1);
    expect(nameCodeOf("GET2")).toBe(-1);
    expect(nameCodeOf("G-T")).toBe(-1);
    expect(nameCodeOf("G@T")).toBe(-1);
    expect(nameCodeOf("G[T")).toBe(-1);
    expect(nameCodeOf("G\xc1T")).toBe(-1);
  });

  test("the parser sets code from token 0", () => {
    const p = new TextParser({ valueBytesMax: 1024 }, textPayloads);
    const buf = bytes("ping\r\n");
    expect(p.parse(buf, 0, buf.length)).toBe(Parsed.Command);
    expect(p.code).toBe(nameCodeOf("PING"));
  });
});

describe("parseLength", () => {
  const len = (s: string) => parseLength(bytes(s), 0, s.length);

  test("accepts decimal digits up to fifteen of them", () => {
    expect(len("0")).toBe(0);
    expect(len("007")).toBe(7);
    expect(len("123")).toBe(123);
    expect(len("999999999999999")).toBe(999999999999999);
  });

  test("refuses empty, signed, non-digit and sixteen-digit lengths", () => {
    for (const s of ["", "-1", "+1", "1a", "1.0", " 1", "1000000000000000"]) expect(len(s)).toBe(-1);
  });
});

describe("SET payload framing", () => {
  test("each length token is pointed at its payload, so handlers read SET k v and MSET k1 v1 k2 v2", () => {
    const f = new Feeder();
    const [set, mset] = f.feed("SET k 5 NX\r\nhello\r\nMSET a 1 b 3\r\nxyzw\r\n") as { tokens: string[] }[];
    expect(set!.tokens).toEqual(["SET", "k", "hello", "NX"]);
    expect(mset!.tokens).toEqual(["MSET", "a", "x", "b", "yzw"]);
  });

  test("the payload is exactly the announced bytes, even when they contain CR, LF and NUL", () => {
    const f = new Feeder();
    expect(f.feed("SET k 7\r\na\r\nb\0\n\r\r\nPING\r\n")).toEqual([cmd(["SET", "k", "7"], "a\r\nb\0\n\r"), cmd(["PING"])]);
  });

  test("a payload of zero bytes is framed by its CRLF alone", () => {
    const f = new Feeder();
    expect(f.feed("SET k 0\r\n\r\n")).toEqual([cmd(["SET", "k", "0"], "")]);
  });

  test("options after the length are tokens and the payload still follows the line", () => {
    const f = new Feeder();
    expect(f.feed("set k 2 EX 100 nx\r\nhi\r\n")).toEqual([cmd(["set", "k", "2", "EX", "100", "nx"], "hi")]);
  });

  test("a SET arriving one byte at a time is parsed once its trailer arrives", () => {
    const f = new Feeder();
    const req = "SET key 5\r\nhe\r\nl\r\n";
    for (let i = 0; i < req.length - 1; i++) expect(f.feed(req[i]!)).toEqual([]);
    expect(f.feed("\n")).toEqual([cmd(["SET", "key", "5"], "he\r\nl")]);
  });

  test("NeedMore inside a payload reports the bytes the whole request needs", () => {
    const p = new TextParser({ valueBytesMax: 1024 }, textPayloads);
    const buf = bytes("PING\r\nSET k 10\r\nabc");
    expect(p.parse(buf, 0, buf.length)).toBe(Parsed.Command);
    expect(p.parse(buf, p.next, buf.length)).toBe(Parsed.NeedMore);
    expect(p.next).toBe(6);
    expect(p.needBytes).toBe("SET k 10\r\n".length + 10 + 2);
  });

  test("a payload followed by a CR alone waits for the LF", () => {
    const f = new Feeder();
    expect(f.feed("SET k 3\r\nabc\r")).toEqual([]);
    expect(f.feed("\nPING\r\n")).toEqual([cmd(["SET", "k", "3"], "abc"), cmd(["PING"])]);
  });

  test("a payload followed by a bare LF is accepted", () => {
    const f = new Feeder();
    expect(f.feed("SET k 3\r\nabc\nPING\n")).toEqual([cmd(["SET", "k", "3"], "abc"), cmd(["PING"])]);
  });

  test("a payload not followed by CRLF is an error that closes the connection", () => {
    const f = new Feeder();
    expect(f.feed("SET k 3\r\nabcd\r\n")).toEqual([err(Err.badTrailer, true)]);
    expect(f.closed).toBe(true);
  });

  test("a payload followed by CR and then not LF is an error that closes the connection", () => {
    const f = new Feeder();
    expect(f.feed("SET k 3\r\nabc\r")).toEqual([]);
    expect(f.feed("x")).toEqual([err(Err.badTrailer, true)]);
  });

  test("a non-numeric, negative or sixteen-digit length is ERR BADREQ and the next line parses", () => {
    for (const len of ["x", "-1", "1e3", "1000000000000000"]) {
      const f = new Feeder();
      expect(f.feed(`SET k ${len}\r\nPING\r\n`)).toEqual([err(Err.badLength), cmd(["PING"])]);
    }
  });

  test("a SET with fewer than three tokens is a plain command with no payload", () => {
    const f = new Feeder();
    expect(f.feed("SET k\r\nPING\r\n")).toEqual([cmd(["SET", "k"]), cmd(["PING"])]);
  });
});

describe("MSET payload framing", () => {
  test("all payloads follow the line back to back, then one CRLF", () => {
    const f = new Feeder();
    expect(f.feed("MSET a 1 b 3 c 0\r\nx\r\n\0\r\n")).toEqual([cmd(["MSET", "a", "1", "b", "3", "c", "0"], "x\r\n\0")]);
  });

  test("an odd argument count is ERR BADREQ without closing, and the next line parses", () => {
    const f = new Feeder();
    expect(f.feed("MSET a 1 b\r\nPING\r\nMSET a\r\nPING\r\n")).toEqual([err(Err.msetOdd), cmd(["PING"]), err(Err.msetOdd), cmd(["PING"])]);
  });

  test("a bad length anywhere in an MSET is ERR BADREQ and the next line parses", () => {
    const f = new Feeder();
    expect(f.feed("MSET a 1 b -2\r\nPING\r\n")).toEqual([err(Err.badLength), cmd(["PING"])]);
  });

  test("a bare MSET is a plain command left to the arity check", () => {
    const f = new Feeder();
    expect(f.feed("MSET\r\n")).toEqual([cmd(["MSET"])]);
  });
});

describe("oversize payloads", () => {
  test("a SET announcing more than valueBytesMax answers TOOLARGE before any payload byte arrives", () => {
    const f = new Feeder(100);
    expect(f.feed("SET k 101\r\n")).toEqual([err(Err.valueTooLarge)]);
  });

  test("the announced bytes of an oversize SET are discarded across several reads, then the next command parses", () => {
    const f = new Feeder(100);
    expect(f.feed("SET k 250\r\n")).toEqual([err(Err.valueTooLarge)]);
    expect(f.feed("x".repeat(100))).toEqual([]);
    expect(f.feed("\r\n".repeat(50))).toEqual([]); // looks like empty lines, but is payload
    expect(f.feed("GET k\r\n".repeat(7))).toEqual([]); // 49 more bytes: 249 of 250
    expect(f.feed("y")).toEqual([]);
    expect(f.feed("\r")).toEqual([]);
    expect(f.feed("\nPING\r\n")).toEqual([cmd(["PING"])]);
    expect(f.keptMax).toBeLessThanOrEqual(1); // nothing of the payload was buffered
  });

  test("an oversize SET whose payload and next command come in one read answers both", () => {
    const f = new Feeder(100);
    expect(f.feed(`SET k 101\r\n${"z".repeat(101)}\nGET k\r\n`)).toEqual([err(Err.valueTooLarge), cmd(["GET", "k"])]);
  });

  test("a discarded payload not followed by CRLF is an error that closes the connection", () => {
    const f = new Feeder(100);
    expect(f.feed(`SET k 101\r\n${"z".repeat(101)}`)).toEqual([err(Err.valueTooLarge)]);
    expect(f.feed("zz\r\n")).toEqual([err(Err.badTrailer, true)]);
  });

  test("an MSET with one oversize value in the middle answers TOOLARGE and discards all its payloads", () => {
    const f = new Feeder(100);
    expect(f.feed("MSET a 1 b 101 c 2\r\n")).toEqual([err(Err.valueTooLarge)]);
    expect(f.feed("a" + "b".repeat(101))).toEqual([]);
    expect(f.feed("cc\r\nPING\r\n")).toEqual([cmd(["PING"])]);
  });

  test("an MSET whose values fit one by one but not together answers TOOLARGE and is discarded", () => {
    const valueBytesMax = 40 * 1024 * 1024;
    const f = new Feeder(valueBytesMax);
    expect(f.feed(`MSET a ${valueBytesMax} b ${valueBytesMax}\r\n`)).toEqual([err(Err.valueTooLarge)]);
    expect(2 * valueBytesMax).toBeGreaterThan(msetPayloadBytesMax);
    const chunk = Buffer.alloc(8 * 1024 * 1024, 0x61);
    for (let left = 2 * valueBytesMax; left > 0; left -= chunk.length) expect(f.feed(chunk.subarray(0, Math.min(left, chunk.length)))).toEqual([]);
    expect(f.feed("\r\nPING\r\n")).toEqual([cmd(["PING"])]);
    expect(f.keptMax).toBe(0);
  });

  test("a payload of exactly valueBytesMax is accepted", () => {
    const f = new Feeder(100);
    expect(f.feed(`SET k 100\r\n${"v".repeat(100)}\r\n`)).toEqual([cmd(["SET", "k", "100"], "v".repeat(100))]);
  });
});

describe("line limit", () => {
  test("a line longer than 1 MiB with no LF yet is ERR BADREQ and closes", () => {
    const p = new TextParser({ valueBytesMax: 1024 }, textPayloads);
    const buf = Buffer.alloc(lineBytesMax + 1, 0x61);
    expect(p.parse(buf, 0, buf.length)).toBe(Parsed.Error);
    expect(text(p.error)).toBe(text(Err.lineTooLong));
    expect(p.close).toBe(true);
  });

  test("a line longer than 1 MiB with its LF present is ERR BADREQ and closes", () => {
    const p = new TextParser({ valueBytesMax: 1024 }, textPayloads);
    const buf = Buffer.alloc(lineBytesMax + 10, 0x61);
    buf[buf.length - 1] = 10;
    expect(p.parse(buf, 0, buf.length)).toBe(Parsed.Error);
    expect(text(p.error)).toBe(text(Err.lineTooLong));
    expect(p.close).toBe(true);
  });

  test("a long line streaming in is refused as soon as it passes 1 MiB", () => {
    const f = new Feeder();
    const piece = Buffer.alloc(64 * 1024, 0x62);
    let events: Event[] = [];
    let fed = 0;
    while (!f.closed && fed < 2 * lineBytesMax) {
      events = f.feed(piece);
      fed += piece.length;
    }
    expect(events).toEqual([err(Err.lineTooLong, true)]);
    expect(fed).toBe(lineBytesMax + piece.length);
  });

  test("a line of 1 MiB with a bare LF is within the limit", () => {
    const p = new TextParser({ valueBytesMax: 1024 }, textPayloads);
    const buf = Buffer.alloc(lineBytesMax + 1, 0x61);
    buf[buf.length - 1] = 10;
    expect(p.parse(buf, 0, buf.length)).toBe(Parsed.Command);
    expect(p.argc).toBe(1);
  });

  test("a line of exactly 1 MiB ending in CRLF is within the limit, even when its LF comes in a later read", () => {
    const line = `GET ${"c".repeat(lineBytesMax - 4)}`;
    const whole = new Feeder();
    expect(whole.feed(`${line}\r\n`)).toEqual([cmd(["GET", line.slice(4)])]);
    const split = new Feeder();
    expect(split.feed(line)).toEqual([]);
    expect(split.feed("\r")).toEqual([]);
    expect(split.feed("\n")).toEqual([cmd(["GET", line.slice(4)])]);
  });

  test("a line of 1 MiB and one byte is too long whether its CRLF has arrived or not", () => {
    const line = "d".repeat(lineBytesMax + 1);
    expect(new Feeder().feed(`${line}\r\n`)).toEqual([err(Err.lineTooLong, true)]);
    const split = new Feeder();
    expect(split.feed(line.slice(0, lineBytesMax))).toEqual([]);
    expect(split.feed("d")).toEqual([err(Err.lineTooLong, true)]);
  });

  test("the SET payload does not count toward the line limit", () => {
    const f = new Feeder(2 * lineBytesMax);
    const value = "p".repeat(lineBytesMax + 5);
    const events = f.feed(`SET k ${value.length}\r\n${value}\r\n`);
    expect(events.length).toBe(1);
    expect(events[0]!.kind).toBe("command");
    expect((events[0] as { payload: string }).payload.length).toBe(value.length);
  });
});
