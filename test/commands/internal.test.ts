// A resource failure inside a command (a full disk under the log, a full keyspace) is answered
// ERR INTERNAL naming the cause; the write is not applied and the connection keeps working. A
// broken invariant is not answered at all: it escapes the connection, and the server stops.

import { expect, test } from "bun:test";
import { InvariantError } from "../../src/assert.ts";
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
    if (++calls === 2) throw new Error("keyspace full");
    return original(kb, ks, ke, now);
  };
  expect(client.send("MGET a a\r\n")).toBe("ERR INTERNAL keyspace full\r\n");
  store.lookup = original;
  expect(client.send("MGET a\r\n")).toBe("VALUE a 1 1 -1\r\nx\r\n");
});

test("a broken invariant inside a command is never answered: it escapes the connection", () => {
  const client = new EngineClient();
  const store = client.ctx.store;
  store.lookup = () => {
    throw new InvariantError("probe chain broken");
  };
  expect(() => client.send("GET k\r\n")).toThrow(InvariantError);
  expect(client.transport.take()).toBe("");
  expect(client.ctx.stats.errorsTotal).toBe(0);
});
