// One request, one reply, on a fresh loopback connection: for PING, STATS and INFO, not for load.

/** Sends `request` and resolves with the reply text once `complete(text)` says it is all there. */
export async function requestOnce(
  host: string,
  port: number,
  request: string,
  complete: (text: string) => boolean,
  timeoutMs = 10_000,
): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  let settle!: (err: Error | null) => void;
  const finished = new Promise<void>((resolve, reject) => {
    settle = (err) => (err ? reject(err) : resolve());
  });
  const socket = await Bun.connect({
    hostname: host,
    port,
    socket: {
      data(_s, chunk) {
        text += decoder.decode(chunk, { stream: true });
        if (complete(text)) settle(null);
      },
      close() {
        settle(new Error(`connection closed before a complete reply (got ${JSON.stringify(text.slice(0, 200))})`));
      },
      error(_s, err) {
        settle(err);
      },
    },
  });
  const timer = setTimeout(() => settle(new Error(`no complete reply within ${timeoutMs} ms`)), timeoutMs);
  try {
    socket.write(request);
    await finished;
    return text;
  } finally {
    clearTimeout(timer);
    socket.end();
  }
}

/** True once a RESP2 reply (simple string, error, integer or bulk string) is complete. */
export function respReplyComplete(text: string): boolean {
  const eol = text.indexOf("\r\n");
  if (eol < 0) return false;
  if (text[0] !== "$") return true;
  const len = Number(text.slice(1, eol));
  return len < 0 || Buffer.byteLength(text) >= eol + 2 + len + 2;
}

/** The body of a complete RESP2 bulk-string reply; throws on an error reply. */
export function respBulkBody(text: string): string {
  if (text[0] === "-") throw new Error(`server replied ${text.trim()}`);
  const eol = text.indexOf("\r\n");
  return text.slice(eol + 2, text.length - 2);
}

/** True once an Osprey STATS reply (name=value lines, then END) or an error line is complete. */
export function statsReplyComplete(text: string): boolean {
  return text.startsWith("END\r\n") || text.includes("\r\nEND\r\n") || (text.startsWith("ERR ") && text.endsWith("\r\n"));
}

/** Parses `name=value` lines (Osprey STATS, Redis INFO) into a map; other lines are skipped. */
export function parseFields(text: string, separator: "=" | ":"): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(separator);
    if (at > 0 && !line.startsWith("#")) fields.set(line.slice(0, at), line.slice(at + 1));
  }
  return fields;
}
