// The limits around authentication and idle clients, against real servers: max_unauthenticated_clients
// refuses the connection beyond it while authenticated clients go on, auth_timeout closes a
// connection that does not authenticate in time, timeout closes idle clients (not subscribers, not
// ones held by CLIENT PAUSE), repeated AUTH failures are answered late without delaying others.

import { describe, expect, test } from "bun:test";
import { RawClient } from "../support/client.ts";
import { startServer } from "../support/server.ts";

const resp = (...args: string[]) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;

describe("max_unauthenticated_clients", () => {
  test("connections beyond it are refused with a clear error while authenticated clients keep working", async () => {
    const server = await startServer({ auth_password: "pw", max_unauthenticated_clients: 5, auth_timeout: 0 });
    try {
      const admin = await RawClient.connect(server.port);
      expect(await admin.request("AUTH pw\r\n")).toBe("OK");
      const idle = await Promise.all(Array.from({ length: 5 }, () => RawClient.connect(server.port)));
      // Accepted in order: the five are counted before the sixth is looked at.
      for (let i = 0; i < 200 && (await admin.stats()).unauthenticated_clients !== "5"; i++) await Bun.sleep(10);
      const refused = await RawClient.connect(server.port);
      expect(await refused.line()).toBe("ERR BUSY too many connections waiting to authenticate (max_unauthenticated_clients)");
      await refused.waitClosed();
      expect(await admin.request("PING\r\n")).toBe("PONG");
      const stats = await admin.stats();
      expect([stats.unauthenticated_clients, stats.rejected_unauthenticated_total]).toEqual(["5", "1"]);
      // One of them authenticates: its slot is free for a newcomer, which is then asked to authenticate.
      expect(await idle[0]!.request("AUTH pw\r\n")).toBe("OK");
      const newcomer = await RawClient.connect(server.port);
      expect(await newcomer.request("GET k\r\n")).toBe("ERR NOAUTH authentication required");
      expect((await admin.stats()).unauthenticated_clients).toBe("5");
      for (const c of [admin, newcomer, ...idle]) c.close();
    } finally {
      await server.stop();
    }
  }, 30_000);
});

describe("auth_timeout", () => {
  test("a connection that does not authenticate in time is told so in its protocol and closed", async () => {
    const server = await startServer({ auth_password: "pw", auth_timeout: 1 });
    try {
      const silent = await RawClient.connect(server.port);
      const text = await RawClient.connect(server.port);
      expect(await text.request("PING\r\n")).toBe("ERR NOAUTH authentication required");
      const redis = await RawClient.connect(server.port);
      await redis.send(resp("PING"));
      expect(await redis.line()).toBe("-NOAUTH Authentication required.");
      const signedIn = await RawClient.connect(server.port);
      expect(await signedIn.request("AUTH pw\r\n")).toBe("OK");

      expect(await silent.line()).toBe("ERR NOAUTH not authenticated within auth_timeout: closing the connection");
      expect(await text.line()).toBe("ERR NOAUTH not authenticated within auth_timeout: closing the connection");
      expect(await redis.line()).toBe("-NOAUTH Authentication not completed within auth_timeout, closing the connection.");
      await Promise.all([silent.waitClosed(), text.waitClosed(), redis.waitClosed()]);
      expect(await signedIn.request("PING\r\n")).toBe("PONG");
      const stats = await signedIn.stats();
      expect([stats.auth_timeouts_total, stats.unauthenticated_clients]).toEqual(["3", "0"]);
      signedIn.close();
    } finally {
      await server.stop();
    }
  }, 30_000);

  test("RESET starts the deadline again: the connection has auth_timeout from then", async () => {
    const server = await startServer({ auth_password: "pw", auth_timeout: 2 });
    try {
      const c = await RawClient.connect(server.port);
      await c.send(resp("AUTH", "pw"));
      expect(await c.line()).toBe("+OK");
      await Bun.sleep(2500); // past the deadline counted from the accept: it is authenticated, so it stays
      await c.send(resp("RESET"));
      expect(await c.line()).toBe("+RESET");
      await c.send(resp("PING"));
      expect(await c.line()).toBe("-NOAUTH Authentication required.");
      expect(await c.line()).toBe("-NOAUTH Authentication not completed within auth_timeout, closing the connection.");
      await c.waitClosed();
    } finally {
      await server.stop();
    }
  }, 30_000);
});

describe("timeout", () => {
  test("an idle client is closed; a subscriber and a client held by CLIENT PAUSE are not (Redis's rules)", async () => {
    const server = await startServer({ timeout: 1 });
    try {
      const idle = await RawClient.connect(server.port);
      expect(await idle.request("PING\r\n")).toBe("PONG");
      const subscriber = await RawClient.connect(server.port);
      await subscriber.send(resp("SUBSCRIBE", "news"));
      expect(await subscriber.line()).toBe("*3");
      const pauser = await RawClient.connect(server.port);
      await pauser.send(resp("CLIENT", "PAUSE", "5000", "ALL"));
      expect(await pauser.line()).toBe("+OK");
      const held = await RawClient.connect(server.port);
      await held.send(resp("GET", "k"));

      await idle.waitClosed(10_000);
      await Bun.sleep(1500); // another sweep or two: the others are still there
      expect([subscriber.isClosed, held.isClosed]).toEqual([false, false]);
      expect(await held.line()).toBe("$-1"); // answered once the pause ends
      const admin = await RawClient.connect(server.port);
      await admin.send(resp("CONFIG", "GET", "timeout"));
      expect([await admin.line(), await admin.line(), await admin.line(), await admin.line(), await admin.line()]).toEqual(["*2", "$7", "timeout", "$1", "1"]);
      await admin.send(resp("CONFIG", "SET", "timeout", "0"));
      expect(await admin.line()).toBe("+OK");
      await Bun.sleep(2500);
      expect(admin.isClosed).toBe(false); // timeout 0: nobody is closed for idling
      const text = await RawClient.connect(server.port);
      // The idle client and the pauser (idle once its pause was set).
      expect(Number((await text.stats()).idle_timeouts_total)).toBeGreaterThanOrEqual(2);
      for (const c of [subscriber, held, admin, text]) c.close();
    } finally {
      await server.stop();
    }
  }, 30_000);

  test("CONFIG SET timeout refuses what Redis refuses, in Redis's words", async () => {
    const server = await startServer();
    try {
      const c = await RawClient.connect(server.port);
      await c.send(resp("CONFIG", "SET", "timeout", "-1"));
      expect(await c.line()).toBe("-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive");
      await c.send(resp("CONFIG", "SET", "timeout", "abc"));
      expect(await c.line()).toBe("-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument couldn't be parsed into an integer");
      c.close();
    } finally {
      await server.stop();
    }
  }, 30_000);
});

describe("repeated AUTH failures", () => {
  test("past three failures in a row each is answered auth_failure_delay_ms late; other clients are not delayed", async () => {
    const server = await startServer({ auth_password: "pw", auth_failure_delay_ms: 1500 });
    try {
      const guesser = await RawClient.connect(server.port);
      const other = await RawClient.connect(server.port);
      expect(await other.request("AUTH pw\r\n")).toBe("OK");
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        expect(await guesser.request(`AUTH guess${i}\r\n`)).toBe("ERR NOAUTH invalid username or password");
        expect(performance.now() - started).toBeLessThan(1000);
      }
      const started = performance.now();
      await guesser.send("AUTH guess3\r\n");
      expect(await other.request("PING\r\n")).toBe("PONG");
      const otherMs = performance.now() - started;
      expect(await guesser.line()).toBe("ERR NOAUTH invalid username or password");
      const guessMs = performance.now() - started;
      expect(guessMs).toBeGreaterThanOrEqual(1400);
      expect(otherMs).toBeLessThan(guessMs);
      // The right password is answered at once, and clears the count.
      expect(await guesser.request("AUTH pw\r\n")).toBe("OK");
      expect((await other.stats()).auth_failures_total).toBe("4");
      guesser.close();
      other.close();
    } finally {
      await server.stop();
    }
  }, 30_000);
});
