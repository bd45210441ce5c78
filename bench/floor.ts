// The floor of Bun.listen: a server that does nothing but count request lines and answer each
// `NOT_FOUND`. Driving it with `bench.ts --op get` shows what Bun's socket layer alone costs, so a
// gap between Osprey and Redis can be split into "ours" and "Bun's".
//
//   ./node_modules/.bin/bun run bench/floor.ts [port]          (default 7390)
//   npm run bench -- --port 7390 --op get

const replies = Buffer.from("NOT_FOUND\r\n".repeat(4096), "latin1");
const replyBytes = "NOT_FOUND\r\n".length;
const port = Number(process.argv[2] ?? 7390);

Bun.listen({
  hostname: "127.0.0.1",
  port,
  socket: {
    binaryType: "uint8array",
    open(socket) {
      socket.setNoDelay(true);
    },
    data(socket, data: Uint8Array) {
      let lines = 0;
      for (let i = 0; i < data.length; i++) if (data[i] === 10) lines++;
      socket.write(replies, 0, Math.min(lines, 4096) * replyBytes);
    },
  },
});
console.error(`floor server on 127.0.0.1:${port}`);
