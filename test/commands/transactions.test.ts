// MULTI / EXEC / DISCARD / WATCH / UNWATCH over RESP, against the engine: what is queued, what is
// refused while queuing (and aborts the EXEC), what EXEC answers, the queue's limits, and WATCH's
// conflicts from another client (either protocol), from expiry and from FLUSHALL.

import { describe, expect, test } from "bun:test";
import { multiQueueBytesMax, multiQueueCommandsMax, multiWatchBytesMax, multiWatchKeysMax } from "../../src/constants.ts";
import { ManualClock, createContext, EngineClient } from "./harness.ts";
import { pipeline, resp } from "../resp/encode.ts";

const OK = "+OK\r\n";
const QUEUED = "+QUEUED\r\n";
const NIL = "$-1\r\n";
const NIL_ARRAY = "*-1\r\n";
const EXECABORT = "-EXECABORT Transaction discarded because of previous errors.\r\n";
const bulk = (s: string) => `$${Buffer.byteLength(s, "latin1")}\r\n${s}\r\n`;
const int = (n: number) => `:${n}\r\n`;
const err = (s: string) => `-ERR ${s}\r\n`;
const array = (...items: string[]) => `*${items.length}\r\n${items.join("")}`;

function clients(config: Record<string, unknown> = {}, clock?: ManualClock) {
  const ctx = createContext({ max_key_bytes: 16, ...config }, { clock });
  const a = new EngineClient(ctx);
  const b = new EngineClient(ctx);
  return { ctx, a, b, r: (...args: string[]) => a.send(resp(...args)), r2: (...args: string[]) => b.send(resp(...args)) };
}

describe("MULTI and EXEC", () => {
  test("commands after MULTI are answered QUEUED, change nothing until EXEC, and EXEC answers their replies in order", () => {
    const { r, r2 } = clients();
    expect(r("MULTI")).toBe(OK);
    expect(r("SET", "a", "1")).toBe(QUEUED);
    expect(r("INCR", "a")).toBe(QUEUED);
    expect(r("MGET", "a", "nope")).toBe(QUEUED);
    expect(r2("GET", "a")).toBe(NIL);
    expect(r("EXEC")).toBe(array(OK, int(2), array(bulk("2"), NIL)));
    expect(r2("GET", "a")).toBe(bulk("2"));
    expect(r("GET", "a")).toBe(bulk("2"));
  });

  test("a pipelined MULTI … EXEC runs in one reply stream, and the connection is out of MULTI after it", () => {
    const { a } = clients();
    const out = a.send(pipeline(["MULTI"], ["SET", "k", "v"], ["DEL", "k", "x"], ["EXEC"], ["GET", "k"]));
    expect(out).toBe(OK + QUEUED + QUEUED + array(OK, int(1)) + NIL);
  });

  test("a runtime error inside EXEC is one error element and the other commands still run", () => {
    const { r } = clients();
    r("MULTI");
    r("SET", "a", "x");
    r("INCR", "a");
    r("SET", "b", "1");
    expect(r("EXEC")).toBe(array(OK, err("value is not an integer or out of range"), OK));
    expect(r("GET", "b")).toBe(bulk("1"));
  });

  test("EXEC of an empty transaction answers an empty array", () => {
    const { r } = clients();
    r("MULTI");
    expect(r("EXEC")).toBe("*0\r\n");
  });

  test("an unknown command or a wrong arity while queuing is answered at once and EXEC then runs nothing", () => {
    const { r } = clients();
    r("MULTI");
    expect(r("SET", "a", "1")).toBe(QUEUED);
    expect(r("FOO", "x")).toBe(err("unknown command 'FOO', with args beginning with: 'x' "));
    expect(r("GET")).toBe(err("wrong number of arguments for 'get' command"));
    expect(r("SET", "b", "2")).toBe(QUEUED);
    expect(r("EXEC")).toBe(EXECABORT);
    expect(r("MGET", "a", "b")).toBe(array(NIL, NIL));
    expect(r("EXEC")).toBe(err("EXEC without MULTI"));
  });

  test("a key the dispatcher would refuse is refused while queuing, and aborts the transaction", () => {
    const { r } = clients();
    r("MULTI");
    expect(r("SET", "k".repeat(17), "v")).toBe(err("key is longer than max_key_bytes"));
    expect(r("EXEC")).toBe(EXECABORT);
  });

  test("FLUSHALL and FLUSHDB are queued inside MULTI and run at EXEC where they stand; BGSAVE is refused and aborts it", () => {
    const { r } = clients();
    r("SET", "old", "1");
    r("MULTI");
    expect(r("SET", "a", "1")).toBe(QUEUED);
    expect(r("FLUSHALL")).toBe(QUEUED);
    expect(r("GET", "old")).toBe(QUEUED);
    expect(r("SET", "b", "2")).toBe(QUEUED);
    expect(r("FLUSHDB", "ASYNC")).toBe(QUEUED);
    expect(r("SET", "c", "3")).toBe(QUEUED);
    expect(r("FLUSHALL", "nonsense")).toBe(QUEUED);
    expect(r("EXEC")).toBe(array(OK, OK, NIL, OK, OK, OK, err("syntax error")));
    expect(r("KEYS", "*")).toBe(array(bulk("c")));
    r("MULTI");
    expect(r("BGSAVE")).toBe(err("Command not allowed inside a transaction"));
    expect(r("EXEC")).toBe(EXECABORT);
  });

  test("a FLUSHALL in one client's EXEC changes another client's watched keys that exist, not missing ones; the EXEC's own WATCH was checked before it ran", () => {
    const { r, r2 } = clients();
    const flushInExec = () => {
      r("WATCH", "a");
      r("MULTI");
      r("FLUSHALL");
      expect(r("EXEC")).toBe(array(OK));
    };
    r2("WATCH", "missing");
    flushInExec();
    r2("MULTI");
    r2("SET", "z", "1");
    expect(r2("EXEC")).toBe(array(OK));
    r("SET", "a", "1");
    r2("WATCH", "a");
    flushInExec();
    r2("MULTI");
    r2("SET", "z", "1");
    expect(r2("EXEC")).toBe(NIL_ARRAY);
  });

  test("nested MULTI, EXEC and DISCARD without MULTI, and WATCH inside MULTI are refused with Redis's texts without aborting", () => {
    const { r } = clients();
    expect(r("EXEC")).toBe(err("EXEC without MULTI"));
    expect(r("DISCARD")).toBe(err("DISCARD without MULTI"));
    r("MULTI");
    expect(r("MULTI")).toBe(err("MULTI calls can not be nested"));
    expect(r("WATCH", "a")).toBe(err("WATCH inside MULTI is not allowed"));
    expect(r("SET", "a", "1")).toBe(QUEUED);
    expect(r("EXEC")).toBe(array(OK));
  });

  test("EXEC with arguments answers EXECABORT naming the arity error and discards the transaction, as in Redis", () => {
    const { r } = clients();
    r("MULTI");
    r("SET", "a", "1");
    expect(r("EXEC", "now")).toBe("-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n");
    expect(r("EXEC")).toBe(err("EXEC without MULTI"));
    expect(r("GET", "a")).toBe(NIL);
  });

  test("DISCARD drops the queue and the connection leaves MULTI", () => {
    const { r } = clients();
    r("MULTI");
    r("SET", "a", "1");
    expect(r("DISCARD")).toBe(OK);
    expect(r("GET", "a")).toBe(NIL);
    expect(r("EXEC")).toBe(err("EXEC without MULTI"));
  });

  test("QUIT inside MULTI runs at once: +OK and the connection closes, nothing queued runs", () => {
    const { a, r2 } = clients();
    expect(a.send(pipeline(["MULTI"], ["SET", "a", "1"], ["QUIT"]))).toBe(OK + QUEUED + OK);
    expect(a.closed).toBe(true);
    expect(r2("GET", "a")).toBe(NIL);
  });

  test("a queued request's arguments are copied: input arriving a byte at a time, in reused buffers, replays intact", () => {
    const { a, r } = clients();
    const value = "v".repeat(300);
    expect(a.send(pipeline(["MULTI"], ["SET", "key1", value], ["SET", "key2", "w"], ["EXEC"]), [1, 7, 3])).toBe(OK + QUEUED + QUEUED + array(OK, OK));
    expect(r("MGET", "key1", "key2")).toBe(array(bulk(value), bulk("w")));
  });

  test("the text protocol has no transactions: MULTI is an unknown command there", () => {
    const { ctx } = clients();
    const text = new EngineClient(ctx);
    expect(text.send("MULTI\r\n")).toBe("ERR BADREQ unknown command\r\n");
  });

  test("EXEC counts each queued command in the stats, as it runs", () => {
    const { r, ctx } = clients();
    const before = ctx.stats.commandsTotal;
    r("MULTI");
    r("SET", "a", "1");
    r("GET", "a");
    expect(ctx.stats.commandsTotal).toBe(before + 1);
    r("EXEC");
    expect(ctx.stats.commandsTotal).toBe(before + 4);
  });
});

describe("the queue's limits", () => {
  test(`past ${multiQueueCommandsMax} queued commands the next is refused and EXEC runs nothing`, () => {
    const { a, r } = clients();
    const requests = [["MULTI"], ...Array.from({ length: multiQueueCommandsMax }, () => ["INCR", "n"]), ["INCR", "n"], ["EXEC"]];
    const out = a.send(pipeline(...requests));
    expect(out).toBe(OK + QUEUED.repeat(multiQueueCommandsMax) + err(`MULTI queue full: at most ${multiQueueCommandsMax} commands and ${multiQueueBytesMax} bytes of arguments`) + EXECABORT);
    expect(r("GET", "n")).toBe(NIL);
  });

  test(`past ${multiQueueBytesMax} bytes of queued arguments the command is refused and EXEC runs nothing`, () => {
    const { r } = clients({ max_value_bytes: 16 * 1024 * 1024 });
    const big = "x".repeat(12 * 1024 * 1024);
    r("MULTI");
    expect(r("SET", "a", big)).toBe(QUEUED);
    expect(r("SET", "b", big)).toBe(QUEUED);
    expect(r("SET", "c", big)).toBe(err(`MULTI queue full: at most ${multiQueueCommandsMax} commands and ${multiQueueBytesMax} bytes of arguments`));
    expect(r("EXEC")).toBe(EXECABORT);
    expect(r("EXISTS", "a", "b", "c")).toBe(int(0));
  });
});

describe("WATCH", () => {
  test("a watched key written by another client makes EXEC answer a nil array and run nothing", () => {
    const { r, r2 } = clients();
    r("SET", "a", "1");
    expect(r("WATCH", "a", "b")).toBe(OK);
    expect(r2("SET", "a", "2")).toBe(OK);
    r("MULTI");
    expect(r("SET", "c", "3")).toBe(QUEUED);
    expect(r("EXEC")).toBe(NIL_ARRAY);
    expect(r("GET", "c")).toBe(NIL);
  });

  test("an untouched watched key lets EXEC run, and EXEC ends the watch", () => {
    const { r, r2 } = clients();
    r("WATCH", "a");
    r2("SET", "other", "1");
    r("MULTI");
    r("SET", "a", "mine");
    expect(r("EXEC")).toBe(array(OK));
    // The watch ended with the EXEC: a change now does not affect the next transaction.
    r2("SET", "a", "theirs");
    r("MULTI");
    r("GET", "a");
    expect(r("EXEC")).toBe(array(bulk("theirs")));
  });

  test("a watched key changed by the text protocol, deleted, or given an expiry counts as changed", () => {
    const { ctx, r } = clients();
    const text = new EngineClient(ctx);
    const other = new EngineClient(ctx);
    for (const change of [() => text.send("SET a 1\r\nx\r\n"), () => other.send(resp("DEL", "a")), () => other.send(resp("PEXPIRE", "a", "100000"))]) {
      r("SET", "a", "0");
      r("WATCH", "a");
      change();
      r("MULTI");
      r("SET", "z", "1");
      expect(r("EXEC")).toBe(NIL_ARRAY);
    }
  });

  test("a watched key whose expiry passes before EXEC counts as changed (Redis 7)", () => {
    const clock = new ManualClock(1_700_000_000_000);
    const { r } = clients({}, clock);
    r("SET", "a", "1", "PX", "1000");
    r("WATCH", "a");
    clock.advance(2000);
    r("MULTI");
    r("SET", "z", "1");
    expect(r("EXEC")).toBe(NIL_ARRAY);
  });

  test("FLUSHALL changes watched keys that exist, not missing ones", () => {
    const { r, r2 } = clients();
    r("SET", "a", "1");
    r("WATCH", "a");
    r2("FLUSHALL");
    r("MULTI");
    r("SET", "z", "1");
    expect(r("EXEC")).toBe(NIL_ARRAY);
    r("WATCH", "missing");
    r2("FLUSHALL");
    r("MULTI");
    r("SET", "z", "1");
    expect(r("EXEC")).toBe(array(OK));
  });

  test("UNWATCH and DISCARD forget the watches; so does a failed EXEC", () => {
    const { r, r2 } = clients();
    for (const forget of [() => r("UNWATCH"), () => (r("MULTI"), r("DISCARD"))]) {
      r("WATCH", "a");
      expect(forget()).toBe(OK);
      r2("SET", "a", String(Math.random()));
      r("MULTI");
      r("SET", "z", "1");
      expect(r("EXEC")).toBe(array(OK));
    }
    r("WATCH", "a");
    r2("SET", "a", "x");
    r("MULTI");
    r("EXEC");
    r2("SET", "a", "y");
    r("MULTI");
    expect(r("EXEC")).toBe("*0\r\n");
  });

  test(`one connection watches at most ${multiWatchKeysMax} keys: a WATCH past it is refused and adds none`, () => {
    const { r, r2 } = clients();
    const keys = Array.from({ length: multiWatchKeysMax }, (_, i) => `w${i}`);
    expect(r("WATCH", ...keys)).toBe(OK);
    expect(r("WATCH", "w0")).toBe(OK); // already watched: nothing added
    expect(r("WATCH", "extra")).toBe(err(`too many watched keys: at most ${multiWatchKeysMax} keys and ${multiWatchBytesMax} bytes of them per connection`));
    r2("SET", "extra", "1");
    r("MULTI");
    r("SET", "z", "1");
    expect(r("EXEC")).toBe(array(OK));
  });

  test("the watch registry leaves the write path once nothing is watched, also when a watching client disconnects", () => {
    const { ctx, a, r } = clients();
    const log = ctx.store.log;
    r("WATCH", "a", "b");
    expect(ctx.store.log).not.toBe(log);
    a.connection.onClose();
    expect(ctx.store.log).toBe(log);
    const c = new EngineClient(ctx);
    c.send(resp("WATCH", "a"));
    c.send(resp("UNWATCH"));
    expect(ctx.store.log).toBe(log);
  });
});
