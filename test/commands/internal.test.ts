// A failure inside a command (a full disk under the log, a broken invariant) is answered
// ERR INTERNAL naming the cause; the write is not applied and the connection keeps working.

import { expect, test } from "bun:test";
import { nullLog, type MutationLog } from "../../src/engine/store.ts";
import { createContext, EngineClient } from "./harness.ts";

test("a write whose log append throws answers ERR INTERNAL with the cause and changes nothing", () => {
  let failing = true;
  const log: MutationLog = {
    ...nullLog,
    set() {
      if (failing) throw new Error("no space left on device");
    },
  };
  const client = new EngineClient(createContext({}, { log }));
  expect(client.send("SET k 2\r\nhi\r\n")).toBe("ERR INTERNAL no space left on device\r\n");
  expect(client.send("GET k\r\nPING\r\n")).toBe("NOT_FOUND\r\nPONG\r\n");
  failing = false;
  expect(client.send("SET k 2\r\nhi\r\nGET k\r\n")).toBe("OK 1\r\nVALUE 2 1 -1\r\nhi\r\n");
  expect(client.ctx.stats.errorsTotal).toBe(1);
});

test("an MGET that fails half-way sends no partial reply, only the error", () => {
  const client = new EngineClient();
  client.send("SET a 1\r\nx\r\n");
  const store = client.ctx.store;
  const original = store.lookup.bind(store);
  let calls = 0;
  store.lookup = (kb, ks, ke, now) => {
    if (++calls === 2) throw new Error("invariant broken");
    return original(kb, ks, ke, now);
  };
  expect(client.send("MGET a a\r\n")).toBe("ERR INTERNAL invariant broken\r\n");
  store.lookup = original;
  expect(client.send("MGET a\r\n")).toBe("VALUE a 1 1 -1\r\nx\r\n");
});
