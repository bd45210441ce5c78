// osprey-cli's interactive prompt: typed commands like redis-cli (`set k "a b" ex 5000`), with
// history, `help` and `quit`. Without a terminal it reads commands from stdin, one per line.

import { appendFileSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ConnectionError, ServerError, TimeoutError, type OspreyClient, type SetOptions } from "../client/index.ts";
import { bigintArg, commandHelp, execute, intArg, UsageError, type Request } from "./execute.ts";
import { formatRepl } from "./format.ts";

/** History lines kept in memory and in the history file. */
const historyLinesMax = 1000;

/**
 * Splits a prompt line into arguments, as redis-cli does: spaces separate; "double quotes" take
 * \n \r \t \" \\ and \xNN escapes; 'single quotes' are literal (\' for a quote). Throws on an
 * unclosed quote.
 */
export function splitArgs(line: string): Uint8Array[] {
  const args: Uint8Array[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && /\s/.test(line[i]!)) i++;
    if (i >= n) break;
    const bytes: number[] = [];
    const push = (s: string) => bytes.push(...Buffer.from(s, "utf8"));
    while (i < n && !/\s/.test(line[i]!)) {
      const c = line[i]!;
      if (c === '"') {
        i++;
        for (;;) {
          if (i >= n) throw new UsageError("unbalanced quotes");
          const d = line[i]!;
          if (d === '"') break;
          if (d === "\\" && i + 1 < n) {
            const e = line[i + 1]!;
            if (e === "x" && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
              bytes.push(parseInt(line.slice(i + 2, i + 4), 16));
              i += 4;
              continue;
            }
            push({ n: "\n", r: "\r", t: "\t", b: "\b", a: "\x07" }[e] ?? e);
            i += 2;
            continue;
          }
          push(d);
          i++;
        }
        i++; // the closing quote
      } else if (c === "'") {
        i++;
        for (;;) {
          if (i >= n) throw new UsageError("unbalanced quotes");
          const d = line[i]!;
          if (d === "'") break;
          if (d === "\\" && line[i + 1] === "'") {
            push("'");
            i += 2;
            continue;
          }
          push(d);
          i++;
        }
        i++;
      } else {
        push(c);
        i++;
      }
    }
    args.push(Uint8Array.from(bytes));
  }
  return args;
}

const text = (b: Uint8Array) => Buffer.from(b).toString("utf8");

function arity(cmd: string, args: Uint8Array[], min: number, max = min): void {
  if (args.length < min || args.length > max) throw new UsageError(`wrong number of arguments; usage: ${commandHelp[cmd as Request["cmd"]].usage}`);
}

/** Turns the words of a prompt line (after the command name) into a Request. */
export function parseWords(name: string, args: Uint8Array[]): Request {
  const cmd = name.toLowerCase();
  switch (cmd) {
    case "ping":
    case "stats":
      arity(cmd, args, 0);
      return { cmd };
    case "get":
    case "del":
    case "exists":
    case "ttl":
      arity(cmd, args, 1);
      return { cmd, key: args[0]! };
    case "expire":
      arity(cmd, args, 2);
      return { cmd, key: args[0]!, ms: intArg(text(args[1]!), "ms") };
    case "incr":
    case "decr":
      arity(cmd, args, 1, 2);
      return { cmd, key: args[0]!, delta: args[1] === undefined ? 1n : bigintArg(text(args[1]), "delta") };
    case "mget":
      arity(cmd, args, 1, Infinity);
      return { cmd, keys: args };
    case "mset": {
      if (args.length === 0 || args.length % 2 !== 0) throw new UsageError(`mset needs key value pairs; usage: ${commandHelp.mset.usage}`);
      const pairs: [Uint8Array, Uint8Array][] = [];
      for (let i = 0; i < args.length; i += 2) pairs.push([args[i]!, args[i + 1]!]);
      return { cmd, pairs };
    }
    case "scan":
      return scanRequest(args.map(text));
    case "set":
      arity(cmd, args, 2, Infinity);
      return { cmd, key: args[0]!, value: args[1]!, options: setOptions(args.slice(2).map(text)) };
  }
  throw new UsageError(`unknown command '${name}'; type help for the list`);
}

/** `scan [pattern] [count <n>]` from its words. */
function scanRequest(words: string[]): Request {
  let match: Uint8Array | undefined;
  let count: number | undefined;
  for (let i = 0; i < words.length; i++) {
    if (words[i]!.toLowerCase() === "count" && i + 1 < words.length) count = intArg(words[++i]!, "count");
    else if (match === undefined) match = Buffer.from(words[i]!, "utf8");
    else throw new UsageError(`wrong number of arguments; usage: ${commandHelp.scan.usage}`);
  }
  return { cmd: "scan", match, count };
}

/** SET's option words (case-insensitive): EX ms, PXAT ms, NX, XX, VER n, KEEPTTL. */
function setOptions(words: string[]): SetOptions {
  const o: SetOptions = {};
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!.toLowerCase();
    const value = () => {
      const v = words[++i];
      if (v === undefined) throw new UsageError(`${w} needs a value`);
      return v;
    };
    if (w === "ex") o.ex = intArg(value(), "ex");
    else if (w === "pxat") o.pxat = intArg(value(), "pxat");
    else if (w === "ver") o.ver = bigintArg(value(), "ver");
    else if (w === "nx") o.nx = true;
    else if (w === "xx") o.xx = true;
    else if (w === "keepttl") o.keepTtl = true;
    else throw new UsageError(`unknown SET option '${words[i]}'`);
  }
  return o;
}

/** The prompt's `help` text: every command, or one. */
export function helpText(topic?: string): string {
  const entries = Object.entries(commandHelp);
  if (topic !== undefined) {
    const h = commandHelp[topic.toLowerCase() as Request["cmd"]];
    return h === undefined ? `unknown command '${topic}'` : `${h.usage}\n  ${h.summary}`;
  }
  const width = Math.max(...entries.map(([, h]) => h.usage.length));
  return [
    ...entries.map(([, h]) => `${h.usage.padEnd(width)}  ${h.summary}`),
    `${"help [command]".padEnd(width)}  this text`,
    `${"quit".padEnd(width)}  leave (or Ctrl-D)`,
    'Quote values with spaces: set greeting "hello world"; "\\x00" is a byte.',
  ].join("\n");
}

/** Runs one prompt line; returns the text to print, or null to quit. */
export async function runLine(client: OspreyClient, line: string): Promise<{ out: string; error: boolean } | null> {
  let words: Uint8Array[];
  try {
    words = splitArgs(line);
  } catch (err) {
    return { out: `(error) ${(err as Error).message}`, error: true };
  }
  if (words.length === 0) return { out: "", error: false };
  const name = text(words[0]!).toLowerCase();
  if (name === "quit" || name === "exit") return null;
  if (name === "help" || name === "?") return { out: helpText(words[1] && text(words[1])), error: false };
  try {
    return { out: formatRepl(await execute(client, parseWords(name, words.slice(1)))), error: false };
  } catch (err) {
    if (err instanceof ServerError) return { out: `(error) ERR ${err.code} ${err.message}`, error: true };
    if (err instanceof UsageError) return { out: `(error) ${err.message}`, error: true };
    if (err instanceof ConnectionError || err instanceof TimeoutError) return { out: `(error) ${err.message}`, error: true };
    throw err;
  }
}

function historyPath(): string | null {
  const p = process.env.OSPREY_CLI_HISTORY;
  if (p === "") return null; // history file disabled
  return p ?? join(homedir(), ".osprey_cli_history");
}

function loadHistory(path: string | null): string[] {
  if (path === null) return [];
  try {
    // readline wants the newest first.
    return readFileSync(path, "utf8").split("\n").filter(Boolean).slice(-historyLinesMax).reverse();
  } catch {
    return [];
  }
}

/**
 * The prompt. On a terminal: `host:port> `, line editing, history (also kept in
 * ~/.osprey_cli_history, or $OSPREY_CLI_HISTORY; empty disables it). Otherwise every stdin line is
 * run in order and only replies are printed. Resolves with the exit status.
 */
export async function repl(client: OspreyClient): Promise<number> {
  const tty = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const file = tty ? historyPath() : null;
  const rl = createInterface({
    input: process.stdin,
    output: tty ? process.stdout : undefined,
    terminal: tty,
    history: loadHistory(file),
    historySize: historyLinesMax,
    prompt: `${client.host}:${client.port}> `,
  });
  if (tty) {
    process.stdout.write(`Connected to Osprey at ${client.host}:${client.port}. Type help for the commands, quit to leave.\n`);
    rl.prompt();
  }
  let status = 0;
  const print = (s: string) => {
    if (s !== "") process.stdout.write(s + "\n");
  };
  rl.on("SIGINT", () => rl.close());
  for await (const line of rl) {
    if (file !== null && line.trim() !== "") {
      try {
        appendFileSync(file, line.replace(/\n/g, " ") + "\n");
      } catch {
        // history is a convenience: a read-only home must not stop the prompt
      }
    }
    const result = await runLine(client, line);
    if (result === null) break;
    print(result.out);
    if (result.error && !tty) status = 1;
    if (tty) rl.prompt();
  }
  rl.close();
  return status;
}
