// The fuzzer's judge of what the server sends back: a strict reader of each protocol's replies
// that says where a reply ends, that more bytes are needed, or that the bytes are not a reply.

export class MalformedReply extends Error {}

/** What a reply reader found at an offset: the end of one reply, or -1 when it is incomplete. */
export type ReplyEnd = number;

const crlf = 0x0d;

function lineEnd(b: Buffer, at: number): number {
  const i = b.indexOf("\r\n", at, "latin1");
  return i;
}

// Text replies: one line, or a VALUE header with its bytes. Keys in MGET's blocks are bytes that
// are neither space nor control characters.
const textKey = "[^ \\r\\n\\x00-\\x1f\\x7f]+";
const textLine = new RegExp(
  `^(PONG|OK|OK \\d+|OK snapshot started|DELETED [01]|EXISTS [01]|NOT_FOUND|NOT_FOUND ${textKey}|-?\\d+|END|ERR (BADREQ|TOOLARGE|EXISTS|NEXISTS|VER|TYPE|BUSY|INTERNAL|NOAUTH|NOPERM) [ -~]+|[a-z][a-z0-9_]*=[ -~]*)$`,
);
const valueHeader = new RegExp(`^VALUE (?:${textKey} )?(\\d+) (\\d+) (-?\\d+)$`);
const cursorHeader = /^CURSOR \d+ (\d+)$/;
const keyHeader = /^KEY (\d+)$/;
// HELP: `NAME [arguments] - summary` lines, then END, all one reply.
const helpLine = /^[A-Z]+( [ -~]*)? - [ -~]+$/;

/** Reads one Osprey text reply at `at`: its end, or -1 when more bytes are needed. */
export function textReplyEnd(b: Buffer, at: number): ReplyEnd {
  const e = lineEnd(b, at);
  if (e < 0) {
    if (b.length - at > 70_000) throw new MalformedReply(`a reply line longer than 70000 bytes`);
    return -1;
  }
  const line = b.subarray(at, e).toString("latin1");
  const v = valueHeader.exec(line);
  if (v !== null) {
    const end = e + 2 + Number(v[1]) + 2;
    if (end > b.length) return -1;
    if (b[end - 2] !== crlf || b[end - 1] !== 0x0a) throw new MalformedReply(`a value of ${v[1]} bytes not followed by CRLF: ${JSON.stringify(line)}`);
    return end;
  }
  const c = cursorHeader.exec(line);
  if (c !== null) return scanBlocksEnd(b, e + 2, Number(c[1]));
  if (helpLine.test(line)) return helpEnd(b, e + 2);
  if (!textLine.test(line)) throw new MalformedReply(`not a text reply: ${JSON.stringify(line.slice(0, 200))}`);
  return e + 2;
}

/** SCAN's `count` blocks of `KEY <len>` CRLF, the key's bytes, CRLF, from `at`. */
function scanBlocksEnd(b: Buffer, at: number, count: number): ReplyEnd {
  for (let i = 0; i < count; i++) {
    const e = lineEnd(b, at);
    if (e < 0) return -1;
    const k = keyHeader.exec(b.subarray(at, e).toString("latin1"));
    if (k === null) throw new MalformedReply(`SCAN block ${i} of ${count} is not KEY <len>: ${JSON.stringify(b.subarray(at, e).toString("latin1").slice(0, 200))}`);
    const end = e + 2 + Number(k[1]) + 2;
    if (end > b.length) return -1;
    if (b[end - 2] !== crlf || b[end - 1] !== 0x0a) throw new MalformedReply(`a SCAN key of ${k[1]} bytes not followed by CRLF`);
    at = end;
  }
  return at;
}

/** HELP's lines after the first, through END. */
function helpEnd(b: Buffer, at: number): ReplyEnd {
  for (;;) {
    const e = lineEnd(b, at);
    if (e < 0) return -1;
    const line = b.subarray(at, e).toString("latin1");
    if (line === "END") return e + 2;
    if (!helpLine.test(line)) throw new MalformedReply(`not a HELP line: ${JSON.stringify(line.slice(0, 200))}`);
    at = e + 2;
  }
}

/** Reads one RESP2 reply at `at` (arrays recursively): its end, or -1 when more bytes are needed. */
export function respReplyEnd(b: Buffer, at: number, depth = 0): ReplyEnd {
  if (depth > 8) throw new MalformedReply("RESP arrays nested deeper than 8");
  if (at >= b.length) return -1;
  const e = lineEnd(b, at);
  if (e < 0) {
    if (b.length - at > 70_000) throw new MalformedReply(`a RESP line longer than 70000 bytes`);
    return -1;
  }
  const type = String.fromCharCode(b[at]!);
  const line = b.subarray(at + 1, e).toString("latin1");
  if (line.includes("\n")) throw new MalformedReply(`a RESP line with an LF inside: ${JSON.stringify(line.slice(0, 200))}`);
  switch (type) {
    case "+":
      return e + 2;
    case "-":
      if (!/^[A-Z]+( .*)?$/.test(line)) throw new MalformedReply(`an error reply without an upper-case code: ${JSON.stringify(line.slice(0, 200))}`);
      return e + 2;
    case ":":
      if (!/^-?\d{1,19}$/.test(line)) throw new MalformedReply(`a RESP integer that is not one: ${JSON.stringify(line)}`);
      return e + 2;
    // RESP3 (after HELLO 3): null, double, boolean, big number.
    case "_":
      if (line !== "") throw new MalformedReply(`a RESP3 null with text: ${JSON.stringify(line)}`);
      return e + 2;
    case ",":
      if (!/^(-?\d+(\.\d+)?(e[-+]?\d+)?|-?inf|nan)$/.test(line)) throw new MalformedReply(`a RESP3 double that is not one: ${JSON.stringify(line)}`);
      return e + 2;
    case "#":
      if (line !== "t" && line !== "f") throw new MalformedReply(`a RESP3 boolean that is not one: ${JSON.stringify(line)}`);
      return e + 2;
    case "(":
      if (!/^-?\d+$/.test(line)) throw new MalformedReply(`a RESP3 big number that is not one: ${JSON.stringify(line)}`);
      return e + 2;
    case "=":
    case "$": {
      if (line === "-1" && type === "$") return e + 2;
      if (!/^\d{1,10}$/.test(line)) throw new MalformedReply(`a bulk length that is not one: ${JSON.stringify(line)}`);
      const end = e + 2 + Number(line) + 2;
      if (end > b.length) return -1;
      if (b[end - 2] !== crlf || b[end - 1] !== 0x0a) throw new MalformedReply(`a bulk string of ${line} bytes not followed by CRLF`);
      return end;
    }
    case "*":
    case "~":
    case ">":
    case "%": {
      if (line === "-1" && type === "*") return e + 2;
      if (!/^\d{1,7}$/.test(line)) throw new MalformedReply(`an aggregate length that is not one: ${JSON.stringify(line)}`);
      let p = e + 2;
      // A map's length counts pairs.
      for (let i = type === "%" ? 2 * Number(line) : Number(line); i > 0; i--) {
        p = respReplyEnd(b, p, depth + 1);
        if (p < 0) return -1;
      }
      return p;
    }
    default:
      throw new MalformedReply(`a RESP reply starting with ${JSON.stringify(type)}: ${JSON.stringify(b.subarray(at, at + 80).toString("latin1"))}`);
  }
}
