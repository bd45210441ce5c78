// Test support: reads whole RESP2/RESP3 replies off a RawClient as their exact bytes (latin1
// text), so replies of two servers can be compared byte for byte.

import type { RawClient } from "../support/client.ts";

/** One complete reply, every byte of it, nested aggregates included. */
export async function readReply(c: RawClient): Promise<string> {
  const line = await c.line();
  const type = line[0];
  const n = Number(line.slice(1));
  let out = `${line}\r\n`;
  switch (type) {
    case "$": // bulk string
    case "=": // verbatim string
    case "!": // bulk error
      if (n >= 0) out += (await c.bytes(n + 2)).toString("latin1");
      return out;
    case "*": // array
    case "~": // set
    case ">": // push
      for (let i = 0; i < n; i++) out += await readReply(c);
      return out;
    case "%": // map
    case "|": // attribute: its pairs, then the reply it annotates
      for (let i = 0; i < 2 * n; i++) out += await readReply(c);
      if (type === "|") out += await readReply(c);
      return out;
    default: // + - : _ , # ( — one line
      return out;
  }
}
