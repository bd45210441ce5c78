// The text protocol's framing and parser-limit cases (docs/PROTOCOL.md 2.1, 2.3, 2.7): line ends,
// blank lines, separators, requests split across reads, payload trailers, bad lengths, oversize
// payloads discarded as they stream, MSET's token pairs. These are about bytes on the wire, not a
// command's rule, so they stay literal request and reply bytes of the text protocol; the command
// cases (cases.ts) are written once for both protocols. Runners: commands/engine.test.ts and
// e2e/commands.tcp.test.ts. Every case names its own keys, as the command cases do.

import { caseConfig } from "./model.ts";

/** What a step expects back: exact bytes, a pattern over the whole reply, or "" for no reply. */
export type Expected = string | RegExp;

/** Request bytes (latin1: one char per byte) and the reply they must produce. */
export type Step = readonly [request: string, expected: Expected];

export interface FramingCase {
  /** The behaviour, as a sentence. */
  readonly name: string;
  readonly steps: readonly Step[];
  /** The server must close the connection after the last step. */
  readonly closes?: boolean;
}

const valueBytesMax = caseConfig.max_value_bytes;

const PONG = "PONG\r\n";
const NOT_FOUND = "NOT_FOUND\r\n";
const LINE_TOO_LONG = "ERR BADREQ command line too long\r\n";
const BAD_TRAILER = "ERR BADREQ payload not followed by CRLF\r\n";
const BAD_LENGTH = "ERR BADREQ length is not a non-negative integer\r\n";
const VALUE_TOO_LARGE = "ERR TOOLARGE value too large\r\n";
const MSET_ODD = "ERR BADREQ MSET needs key and length pairs\r\n";

/** `OK <version>`. */
const ok = (version: number) => `OK ${version}\r\n`;

/** A GET reply for a live value without expiry. */
const value = (bytes: string, version = 1) => `VALUE ${bytes.length} ${version} -1\r\n${bytes}\r\n`;

/** Exactly `n` payload bytes that would be commands if the server read them as lines. */
function commandLookingBytes(n: number): string {
  return "PING\r\nSET x 1\r\n".repeat(Math.ceil(n / 15)).slice(0, n);
}

export const framingCases: readonly FramingCase[] = [
  {
    name: "a bare LF ends a request just as CRLF does",
    steps: [
      ["PING\n", PONG],
      ["GET fr:lf\n", NOT_FOUND],
    ],
  },
  {
    name: "empty and blank lines get no reply",
    steps: [
      ["\r\n\n  \t \r\n\n", ""],
      ["\r\nPING\r\n\r\n", PONG],
    ],
  },
  {
    name: "tabs and runs of spaces separate tokens",
    steps: [
      ["SET\t fr:tab \t 3\t \r\nabc\r\n", ok(1)],
      ["\t GET  fr:tab\t\r\n", value("abc")],
    ],
  },
  {
    name: "a request split across several reads gets its reply once it is complete",
    steps: [
      ["SET fr:split 5\r\nhe", ""],
      ["l", ""],
      ["lo\r", ""],
      ["\n", ok(1)],
      ["GE", ""],
      ["T fr:split\r", ""],
      ["\n", value("hello")],
    ],
  },
  {
    name: "a command line longer than 1 MiB is answered ERR BADREQ and the connection is closed",
    steps: [[`GET ${"x".repeat(1024 * 1024 + 1)}`, LINE_TOO_LONG]],
    closes: true,
  },
  {
    name: "a SET payload followed by a bare LF is accepted",
    steps: [["SET set:lf 3\r\nabc\nGET set:lf\r\n", ok(1) + value("abc")]],
  },
  {
    name: "a SET payload not followed by CRLF is answered ERR BADREQ and the connection is closed",
    steps: [["SET set:trailer 3\r\nabcdef\r\n", BAD_TRAILER]],
    closes: true,
  },
  {
    name: "a SET whose length is not a non-negative integer answers ERR BADREQ and the connection stays usable",
    steps: [
      ["SET set:badlen abc\r\n", BAD_LENGTH],
      ["SET set:badlen -1\r\n", BAD_LENGTH],
      ["SET set:badlen 1.5\r\n", BAD_LENGTH],
      ["PING\r\nGET set:badlen\r\n", PONG + NOT_FOUND],
    ],
  },
  {
    name: "a SET announcing more than max_value_bytes answers ERR TOOLARGE at once, its payload is discarded and the connection stays usable",
    steps: [
      [`SET set:big ${valueBytesMax + 1}\r\n`, VALUE_TOO_LARGE],
      [commandLookingBytes(30000), ""],
      [commandLookingBytes(valueBytesMax + 1 - 30000) + "\r\n", ""],
      ["GET set:big\r\nPING\r\n", NOT_FOUND + PONG],
    ],
  },
  {
    name: "MSET with an oversize value in the middle answers ERR TOOLARGE at once, changes no key and the connection stays usable",
    steps: [
      ["SET mset:big1 3\r\nold\r\n", ok(1)],
      [`MSET mset:big1 1 mset:big2 ${valueBytesMax + 1} mset:big3 1\r\n`, VALUE_TOO_LARGE],
      ["n" + commandLookingBytes(valueBytesMax + 1) + "m", ""],
      ["\r\n", ""],
      ["GET mset:big1\r\nGET mset:big2\r\nGET mset:big3\r\n", value("old", 1) + NOT_FOUND + NOT_FOUND],
    ],
  },
  {
    name: "MSET with an odd argument count answers ERR BADREQ and the connection stays usable",
    steps: [
      ["MSET mset:odd 1 mset:odd2\r\n", MSET_ODD],
      ["MSET mset:odd\r\n", MSET_ODD],
      ["PING\r\nGET mset:odd\r\n", PONG + NOT_FOUND],
    ],
  },
  {
    name: "MSET with a length that is not a non-negative integer answers ERR BADREQ",
    steps: [
      ["MSET mset:badlen x\r\n", BAD_LENGTH],
      ["MSET mset:badlen 1 mset:badlen2 -1\r\n", BAD_LENGTH],
      ["GET mset:badlen\r\n", NOT_FOUND],
    ],
  },
  {
    name: "a SET line of more than 11 tokens answers ERR BADREQ wrong number of arguments, after its payload",
    steps: [
      ["SET cmd:many 1 EX 1 PXAT 1 NX XX VER 1 KEEPTTL\r\nv\r\n", "ERR BADREQ wrong number of arguments\r\n"],
      ["PING\r\nEXISTS cmd:many\r\n", PONG + "EXISTS 0\r\n"],
    ],
  },
];
