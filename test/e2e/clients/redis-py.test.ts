// redis-py (Debian's python3-redis, RESP2) against a real Osprey: a Python script run by the test
// connects, pipelines a thousand commands, runs MULTI/EXEC with a WATCH conflict from a second
// client, round-trips binary values, and names the connection; it prints what it saw as JSON and
// the assertions are here.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startServer, type RunningServer } from "../../support/server.ts";
import { pipelineCommands } from "./shared.ts";

/** Debian's interpreter, which has python3-redis (another python3 on PATH may not). */
const python = "/usr/bin/python3";

const script = `
import json, sys
import redis

port, n = int(sys.argv[1]), int(sys.argv[2])
r = redis.Redis(host="127.0.0.1", port=port)
out = {}
out["ping"] = r.ping()

p = r.pipeline(transaction=False)
for i in range(n // 4):
    p.set(f"py:p:{i}", f"v{i}")
    p.incr("py:p:count")
    p.get(f"py:p:{i}")
    p.exists(f"py:p:{i}", "py:p:none")
replies = p.execute()
out["pipeline"] = [x.decode("latin1") if isinstance(x, bytes) else x for x in replies]

tx = r.pipeline(transaction=True)
tx.set("py:tx", "1")
tx.incr("py:tx")
out["exec"] = [x if not isinstance(x, bytes) else x.decode() for x in tx.execute()]

other = redis.Redis(host="127.0.0.1", port=port)
watched = r.pipeline(transaction=True)
watched.watch("py:tx")
other.set("py:tx", "changed")
watched.multi()
watched.incr("py:tx")
try:
    watched.execute()
    out["watch"] = "executed"
except redis.WatchError:
    out["watch"] = "aborted"
out["after_watch"] = r.get("py:tx").decode()

value = bytes(range(256)) * 2 + b"\\r\\n"
key = b"\\xff\\xfe\\x00\\r\\n \\x80"
r.set(key, value)
out["binary"] = r.get(key) == value

out["setname"] = r.client_setname("py-test")
out["getname"] = r.client_getname()
out["hello"] = {k.decode(): (v.decode() if isinstance(v, bytes) else v) for k, v in zip(*[iter(r.execute_command("HELLO", "2"))] * 2)}
me = [c for c in r.client_list() if c.get("name") == "py-test"]
out["client_list_resp"] = me[0]["resp"] if me else None
print(json.dumps(out))
`;

let server: RunningServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
});

describe("redis-py", () => {
  test("pipelines, transactions with a WATCH conflict, binary values and client names all work", async () => {
    const proc = Bun.spawn([python, "-c", script, String(server.port), String(pipelineCommands)], { stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const out = JSON.parse(stdout);
    expect(out.ping).toBe(true);
    expect(out.pipeline).toHaveLength(pipelineCommands);
    for (let i = 0; i < pipelineCommands / 4; i++) expect(out.pipeline.slice(4 * i, 4 * i + 4)).toEqual([true, i + 1, `v${i}`, 1]);
    expect(out.exec).toEqual([true, 2]);
    expect([out.watch, out.after_watch]).toEqual(["aborted", "changed"]);
    expect(out.binary).toBe(true);
    expect([out.setname, out.getname]).toEqual([true, "py-test"]);
    expect(out.hello).toMatchObject({ server: "redis", version: "7.0.15", proto: 2, mode: "standalone", role: "master" });
    expect(out.client_list_resp).toBe("2");
  });
});
