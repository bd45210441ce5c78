// osprey-cli's prompt: commands typed like redis-cli, driven through stdin and a pseudo-terminal.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { splitArgs } from "../../src/cli/repl.ts";
import { startServer, type RunningServer } from "../support/server.ts";
import { cleanEnv, cli, cliEntry, root, unusedPort } from "./run.ts";

let server: RunningServer;

beforeAll(async () => {
  server = await startServer();
});

afterAll(async () => {
  await server?.stop();
});

describe("splitting a prompt line", () => {
  const text = (line: string) => splitArgs(line).map((b) => Buffer.from(b).toString("latin1"));

  test("spaces separate words; double quotes keep spaces and take escapes", () => {
    expect(text(`set  k "hello world"`)).toEqual(["set", "k", "hello world"]);
    expect(text(`set k "a\\nb\\x00\\xff\\"q\\""`)).toEqual(["set", "k", 'a\nb\x00\xff"q"']);
  });

  test("single quotes are literal", () => {
    expect(text(`set k 'a\\nb c'`)).toEqual(["set", "k", "a\\nb c"]);
  });

  test("an unclosed quote is an error", () => {
    expect(() => splitArgs(`set k "open`)).toThrow("unbalanced quotes");
  });
});

describe("commands on stdin", () => {
  test("each line runs in order and prints a redis-cli-like reply", async () => {
    const input = [
      "ping",
      'set greeting "hello world"',
      "get greeting",
      "GET greeting",
      "incr visits 5",
      "mset a 1 b 2",
      "mget a nope b",
      "get nope",
      'set bin "x\\x00y"',
      "get bin",
      "exists a",
      "ttl a",
      "",
    ].join("\n");
    const r = await cli(["--port", String(server.port)], { stdin: input });
    expect(r.stdout).toBe(
      [
        "PONG",
        "(integer) 1",
        '"hello world"',
        '"hello world"',
        "(integer) 5",
        "(integer) 2",
        '1) "1"\n2) (nil)\n3) "2"',
        "(nil)",
        "(integer) 1",
        '"x\\x00y"',
        "(integer) 1",
        "(integer) -1",
        "",
      ].join("\n"),
    );
    expect(r.code).toBe(0);
  });

  test("server errors and typos print (error) lines, the prompt carries on, and the status is 1", async () => {
    const input = ["set v x", "set v y ver 7", "incr v", "bogus 1", 'get "unclosed', "set v z ex", "ping", ""].join("\n");
    const r = await cli(["--port", String(server.port)], { stdin: input });
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("(integer) 1");
    expect(lines[1]).toBe("(error) ERR VER version mismatch");
    expect(lines[2]).toBe("(error) ERR TYPE value is not an integer");
    expect(lines[3]).toStartWith("(error) unknown command 'bogus'");
    expect(lines[4]).toBe("(error) unbalanced quotes");
    expect(lines[5]).toBe("(error) ex needs a value");
    expect(lines[6]).toBe("PONG");
    expect(r.code).toBe(1);
  });

  test("help lists every command; quit stops reading", async () => {
    const r = await cli(["--port", String(server.port)], { stdin: "help\nquit\nping\n" });
    for (const name of ["ping", "get", "set", "del", "exists", "expire", "ttl", "incr", "decr", "mget", "mset", "stats"]) {
      expect(r.stdout).toMatch(new RegExp(`^${name}\\b`, "m"));
    }
    expect(r.stdout).not.toMatch(/^PONG$/m);
    expect(r.code).toBe(0);
  });

  test("the prompt exits 2 when the server cannot be reached", async () => {
    const r = await cli(["--port", String(await unusedPort())], { stdin: "ping\n" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cannot connect");
  });
});

describe("on a terminal", () => {
  test("shows a prompt, runs typed commands, recalls history with the up arrow and saves it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "osprey-repl-"));
    const historyFile = join(dir, "history");
    let screen = "";
    const waiters: (() => void)[] = [];
    const proc = Bun.spawn([process.execPath, cliEntry, "--port", String(server.port)], {
      cwd: root,
      env: cleanEnv({ OSPREY_CLI_HISTORY: historyFile, TERM: "xterm" }),
      terminal: {
        cols: 120,
        rows: 30,
        data(_t, data) {
          screen += Buffer.from(data).toString("utf8");
          for (const w of waiters.splice(0)) w();
        },
      },
    });
    const terminal = proc.terminal!;
    /** Waits until `text` has appeared on the screen `times` times. */
    const seen = async (text: string, times = 1) => {
      const deadline = Date.now() + 10_000;
      while (screen.split(text).length - 1 < times) {
        if (Date.now() > deadline) throw new Error(`never saw ${JSON.stringify(text)} ×${times} on: ${JSON.stringify(screen)}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, 200);
          waiters.push(() => (clearTimeout(t), r()));
        });
      }
    };
    try {
      const prompt = `127.0.0.1:${server.port}> `;
      await seen(prompt);
      terminal.write('set tty:k "typed on a tty"\r');
      await seen("(integer) 1");
      terminal.write("get tty:k\r");
      await seen('\r\n"typed on a tty"');
      terminal.write("\x1b[A\r"); // up arrow: the previous line again
      await seen('\r\n"typed on a tty"', 2);
      terminal.write("quit\r");
      expect(await proc.exited).toBe(0);
      expect(readFileSync(historyFile, "utf8")).toBe('set tty:k "typed on a tty"\nget tty:k\nget tty:k\nquit\n');
    } finally {
      proc.kill();
      terminal.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
