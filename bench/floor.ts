// The floor of Bun.listen: a server that does no work but count requests and answer each with
// what Osprey would send, so a gap between Osprey and Redis splits into "ours" and "Bun's".
// RESP (a client's first byte `*`): a request is counted at each `*` that starts a line (the
// generators' keys and values hold none), and answered by its array length: `*1` +PONG, `*2`
// (GET) a bulk of --value-size bytes, anything else (SET) +OK. The Osprey text protocol: one
// NOT_FOUND per line. No parsing, no keyspace, one socket.write per read, as Osprey's.
//
//   ./node_modules/.bin/bun run bench/floor.ts [port] [value-size]   (defaults 7390, 100)
//   build/bench/load --port 7390 --op get --pipeline 1 ...            (bench/p1.ts runs both)

const port = Number(process.argv[2] ?? 7390);
const valueBytes = Number(process.argv[3] ?? 100);
const batchMax = 4096;

/** `n` copies of `one`, so a batch of up to n answers is one slice of it. */
const repeated = (one: Uint8Array, n: number): Buffer => {
  const b = Buffer.allocUnsafe(one.length * n);
  for (let i = 0; i < n; i++) b.set(one, i * one.length);
  return b;
};
const bulk = Buffer.from(`$${valueBytes}\r\n${"v".repeat(valueBytes)}\r\n`, "latin1");
const replies = {
  text: repeated(Buffer.from("NOT_FOUND\r\n", "latin1"), batchMax),
  pong: repeated(Buffer.from("+PONG\r\n", "latin1"), batchMax),
  get: repeated(bulk, batchMax),
  ok: repeated(Buffer.from("+OK\r\n", "latin1"), batchMax),
};
const STAR = 42;
const LF = 10;

Bun.listen<{ resp: number }>({
  hostname: "127.0.0.1",
  port,
  socket: {
    binaryType: "uint8array",
    open(socket) {
      socket.setNoDelay(true);
      socket.data = { resp: -1 };
    },
    data(socket, data: Uint8Array) {
      const st = socket.data;
      if (st.resp < 0) st.resp = data[0] === STAR ? 1 : 0;
      if (st.resp === 0) {
        let lines = 0;
        for (let i = 0; i < data.length; i++) if (data[i] === LF) lines++;
        socket.write(replies.text, 0, Math.min(lines, batchMax) * 11);
        return;
      }
      // RESP: the array length of the batch's first request picks the answer for all of it.
      let requests = 0;
      for (let i = 0; i < data.length; i++) if (data[i] === STAR && (i === 0 || data[i - 1] === LF)) requests++;
      const n = data[1]! - 48;
      const r = n === 1 ? replies.pong : n === 2 ? replies.get : replies.ok;
      socket.write(r, 0, (Math.min(requests, batchMax) * r.length) / batchMax);
    },
  },
});
console.error(`floor server on 127.0.0.1:${port}`);
