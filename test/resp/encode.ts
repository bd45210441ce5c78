// Test support: RESP2 request encoding, as Redis clients send requests (arrays of bulk strings).

/** One request: `*<n>` then each argument as `$<len>\r\n<bytes>\r\n`. Strings are latin1 (one char per byte). */
export function resp(...args: (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`, "latin1")];
  for (const a of args) {
    const bytes = typeof a === "string" ? Buffer.from(a, "latin1") : Buffer.from(a);
    parts.push(Buffer.from(`$${bytes.length}\r\n`, "latin1"), bytes, Buffer.from("\r\n", "latin1"));
  }
  return Buffer.concat(parts);
}

/** Several requests back to back (a pipeline). */
export function pipeline(...requests: (string | Uint8Array)[][]): Buffer {
  return Buffer.concat(requests.map((r) => resp(...r)));
}
