#!/usr/bin/env bun
// osprey-cli: one subcommand per Osprey command (citty), or an interactive prompt without one.
// Exit status: 0 success, 1 the server said NOT_FOUND or ERR (or the command line is wrong),
// 2 the server cannot be reached.

import { readFileSync } from "node:fs";
import { defineCommand, runMain, type ArgsDef, type CommandDef } from "citty";
import { version } from "../version.ts";
import {
  ConnectionError,
  OspreyClient,
  parseAddress,
  type ParsedAddress,
  ServerError,
  TimeoutError,
  type SetOptions,
} from "../client/index.ts";
import { bigintArg, commandHelp, execute, intArg, UsageError, type Request } from "./execute.ts";
import { printJson, printRaw } from "./format.ts";
import { repl } from "./repl.ts";

/** Exit statuses, as documented in the README. */
const exitOk = 0;
const exitServerSaidNo = 1;
const exitUnreachable = 2;

/** Options every subcommand takes (also before the subcommand: `osprey-cli --port 7071 get k`). */
const connectionArgs = {
  host: { type: "string", description: "Server host (default: from OSPREY_ADDR, else 127.0.0.1)" },
  port: { type: "string", description: "Server port (default: from OSPREY_ADDR, else 7070)" },
  timeout: { type: "string", description: "Milliseconds to wait for a reply (default 10000)" },
  user: { type: "string", description: "User to AUTH as (default: the server's default user)" },
  password: { type: "string", description: "Password sent with AUTH first (default: from OSPREY_PASSWORD)" },
  tls: { type: "boolean", description: "Connect over TLS" },
  cacert: { type: "string", description: "PEM CA file the server's certificate must chain to (implies --tls)" },
  json: { type: "boolean", description: "Print the reply as JSON" },
} satisfies ArgsDef;

// citty (node:util parseArgs) reads "-5" as a flag. Negative numbers are marked before parsing
// and unmarked where arguments are read, so `incr k -5` and `expire k -1` work.
const negativeMark = "\u0000";

/** An argument as the user typed it (undoes the negative-number mark). */
function arg(s: unknown): string | undefined {
  if (s === undefined || s === null) return undefined;
  const t = String(s);
  return t.startsWith(negativeMark) ? t.slice(1) : t;
}

/** Marks negative numbers and moves connection options given before the subcommand after it. */
export function prepareArgv(argv: readonly string[]): string[] {
  const marked = argv.map((a) => (/^-\d+$/.test(a) ? negativeMark + a : a));
  const valueFlags = new Set(["--host", "--port", "--timeout", "--user", "--password", "--cacert"]);
  const globals: string[] = [];
  let i = 0;
  while (i < marked.length && marked[i]!.startsWith("-") && marked[i] !== "-" && marked[i] !== "--") {
    const a = marked[i++]!;
    globals.push(a);
    if (valueFlags.has(a) && i < marked.length) globals.push(marked[i++]!);
  }
  if (i >= marked.length) return marked; // no subcommand: the prompt
  return [marked[i]!, ...globals, ...marked.slice(i + 1)];
}

/** Rejects options a subcommand does not define (citty would silently ignore a typo like --nxx). */
function rejectUnknownOptions(rawArgs: string[], known: readonly string[]): void {
  for (const a of rawArgs) {
    if (a === "--") break;
    if (!a.startsWith("--")) continue;
    const name = a.slice(2).split("=")[0]!;
    const base = name.startsWith("no-") ? name.slice(3) : name;
    if (!known.includes(name) && !known.includes(base)) throw new UsageError(`unknown option --${name} (see --help)`);
  }
}

/** AUTH's user and password: --user/--password, else OSPREY_USER/OSPREY_PASSWORD (which keep it out of `ps`). */
export function credentials(args: { user?: unknown; password?: unknown }): { user?: string; password?: string } {
  const password = arg(args.password) ?? (process.env.OSPREY_PASSWORD || undefined);
  const user = arg(args.user) ?? (process.env.OSPREY_USER || undefined);
  return password === undefined ? {} : user === undefined ? { password } : { user, password };
}

/** --tls / --cacert as the client's `tls` option. */
export function tlsOption(args: { tls?: unknown; cacert?: unknown }): { tls?: true | { ca: string } } {
  const cacert = arg(args.cacert);
  if (cacert !== undefined) {
    try {
      return { tls: { ca: readFileSync(cacert, "utf8") } };
    } catch (err) {
      throw new UsageError(`--cacert: ${(err as Error).message}`);
    }
  }
  return args.tls === true ? { tls: true } : {};
}

/**
 * Where to connect: --host/--port, else OSPREY_ADDR ("host:port", or a URL: `tls://host:port` and
 * `osprey+tls://[user:password@]host:port` turn TLS on), else 127.0.0.1:7070.
 */
export function address(args: { host?: unknown; port?: unknown }): ParsedAddress {
  const env = process.env.OSPREY_ADDR;
  let base: ParsedAddress;
  try {
    base = env !== undefined && env !== "" ? parseAddress(env) : { host: "127.0.0.1", port: 7070 };
  } catch (err) {
    throw new UsageError(`OSPREY_ADDR: ${(err as Error).message}`);
  }
  const host = arg(args.host);
  const port = arg(args.port);
  if (port !== undefined && (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535)) {
    throw new UsageError(`--port must be 1-65535, got ${JSON.stringify(port)}`);
  }
  const h = host ?? base.host;
  return { ...base, host: h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h, port: port === undefined ? base.port : Number(port) };
}

let stdinRead = false;

/** A value argument: "-" reads all of stdin (once per command). */
async function valueArg(text: string): Promise<Uint8Array> {
  if (text !== "-") return Buffer.from(text, "utf8");
  if (stdinRead) throw new UsageError("stdin (-) can be used for one value only");
  stdinRead = true;
  return new Uint8Array(await Bun.stdin.arrayBuffer());
}

const key = (s: unknown) => Buffer.from(arg(s) ?? "", "utf8");

/** Says what went wrong on stderr and returns the exit status for it. */
function failure(err: unknown): number {
  if (err instanceof ServerError) {
    process.stderr.write(`ERR ${err.code} ${err.message}\n`);
    return exitServerSaidNo;
  }
  if (err instanceof UsageError) {
    process.stderr.write(`error: ${err.message}\n`);
    return exitServerSaidNo;
  }
  if (err instanceof ConnectionError || err instanceof TimeoutError) {
    process.stderr.write(`error: ${err.message}\n`);
    return exitUnreachable;
  }
  throw err;
}

/** Connects, runs one request and prints its reply; resolves with the exit status. */
async function runOne(args: Record<string, unknown>, build: () => Promise<Request>): Promise<number> {
  let client: OspreyClient | undefined;
  try {
    const request = await build();
    const timeout = arg(args.timeout);
    client = new OspreyClient({
      ...address(args),
      ...credentials(args),
      ...tlsOption(args),
      timeoutMs: timeout === undefined ? 10_000 : intArg(timeout, "--timeout"),
      reconnect: false,
    });
    await client.open();
    const reply = await execute(client, request);
    const out = { write: (d: string | Uint8Array) => void process.stdout.write(d), isTTY: process.stdout.isTTY === true };
    if (args.json === true) printJson(reply, out);
    else printRaw(reply, out);
    if (reply.type === "notFound") {
      process.stderr.write("NOT_FOUND\n");
      return exitServerSaidNo;
    }
    return exitOk;
  } catch (err) {
    return failure(err);
  } finally {
    client?.destroy();
  }
}

type Positional = { type: "positional"; description: string; required?: boolean };

/** A subcommand: its own positional and option args plus the connection options. */
function subcommand(
  name: Request["cmd"],
  own: Record<string, Positional | { type: "string" | "boolean"; description: string }>,
  build: (args: Record<string, unknown>) => Promise<Request> | Request,
): CommandDef {
  const args = { ...own, ...connectionArgs } as ArgsDef;
  const known = Object.entries(args)
    .filter(([, d]) => d.type !== "positional")
    .map(([n]) => n);
  return defineCommand({
    meta: { name, description: `${commandHelp[name].summary}  (${commandHelp[name].usage})` },
    args,
    async run({ args: parsed, rawArgs }) {
      process.exitCode = await runOne(parsed, async () => {
        rejectUnknownOptions(rawArgs, known);
        return build(parsed);
      });
    },
  });
}

const keyArg = { key: { type: "positional", description: "the key" } } satisfies Record<string, Positional>;

/** Positional arguments beyond the declared ones (citty puts them all in `_`). */
const rest = (args: Record<string, unknown>) => ((args._ as string[] | undefined) ?? []).map((s) => arg(s)!);

const setArgs = {
  ...keyArg,
  value: { type: "positional", required: false, description: 'the value, or "-" to read it from stdin' },
  file: { type: "string", description: "read the value from this file" },
  ex: { type: "string", description: "expire this many milliseconds from now" },
  pxat: { type: "string", description: "expire at this Unix time in milliseconds" },
  nx: { type: "boolean", description: "only if the key does not exist" },
  xx: { type: "boolean", description: "only if the key exists" },
  ver: { type: "string", description: "only if the key's version is n (0: does not exist)" },
  keepttl: { type: "boolean", description: "keep the key's current expiry" },
} as const;

async function buildSet(a: Record<string, unknown>): Promise<Request> {
  const extra = rest(a).slice(2);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])} (quote a value with spaces)`);
  const valueText = arg(a.value);
  const file = arg(a.file);
  if ((valueText === undefined) === (file === undefined)) throw new UsageError("give the value as an argument, - for stdin, or --file");
  const value = file !== undefined ? new Uint8Array(readFileSync(file)) : await valueArg(valueText!);
  const options: SetOptions = {};
  const ex = arg(a.ex);
  const pxat = arg(a.pxat);
  const ver = arg(a.ver);
  if (ex !== undefined) options.ex = intArg(ex, "--ex");
  if (pxat !== undefined) options.pxat = intArg(pxat, "--pxat");
  if (ver !== undefined) options.ver = bigintArg(ver, "--ver");
  if (a.nx === true) options.nx = true;
  if (a.xx === true) options.xx = true;
  if (a.keepttl === true) options.keepTtl = true;
  return { cmd: "set", key: key(a.key), value, options };
}

const subCommands: Record<string, CommandDef<any>> = {
  ping: subcommand("ping", {}, () => ({ cmd: "ping" })),
  get: subcommand("get", keyArg, (a) => ({ cmd: "get", key: key(a.key) })),
  set: subcommand("set", setArgs, buildSet),
  del: subcommand("del", keyArg, (a) => ({ cmd: "del", key: key(a.key) })),
  exists: subcommand("exists", keyArg, (a) => ({ cmd: "exists", key: key(a.key) })),
  expire: subcommand("expire", { ...keyArg, ms: { type: "positional", description: "milliseconds from now" } }, (a) => ({
    cmd: "expire",
    key: key(a.key),
    ms: intArg(arg(a.ms)!, "ms"),
  })),
  ttl: subcommand("ttl", keyArg, (a) => ({ cmd: "ttl", key: key(a.key) })),
  incr: subcommand("incr", { ...keyArg, delta: { type: "positional", required: false, description: "amount (default 1)" } }, (a) => ({
    cmd: "incr",
    key: key(a.key),
    delta: a.delta === undefined ? 1n : bigintArg(arg(a.delta)!, "delta"),
  })),
  decr: subcommand("decr", { ...keyArg, delta: { type: "positional", required: false, description: "amount (default 1)" } }, (a) => ({
    cmd: "decr",
    key: key(a.key),
    delta: a.delta === undefined ? 1n : bigintArg(arg(a.delta)!, "delta"),
  })),
  mget: subcommand("mget", {}, (a) => {
    const keys = rest(a);
    if (keys.length === 0) throw new UsageError(`give at least one key: ${commandHelp.mget.usage}`);
    return { cmd: "mget", keys: keys.map(key) };
  }),
  mset: subcommand("mset", {}, async (a) => {
    const words = rest(a);
    if (words.length === 0 || words.length % 2 !== 0) throw new UsageError(`give key value pairs: ${commandHelp.mset.usage}`);
    const pairs: [Uint8Array, Uint8Array][] = [];
    for (let i = 0; i < words.length; i += 2) pairs.push([key(words[i]), await valueArg(words[i + 1]!)]);
    return { cmd: "mset", pairs };
  }),
  stats: subcommand("stats", {}, () => ({ cmd: "stats" })),
  scan: subcommand(
    "scan",
    {
      pattern: { type: "positional", required: false, description: "a glob the keys must match (default: every key)" },
      count: { type: "string", description: "keys the server looks at per step (a hint)" },
    },
    (a) => {
      const extra = rest(a).slice(1);
      if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}: ${commandHelp.scan.usage}`);
      const pattern = arg(a.pattern);
      const count = arg(a.count);
      return { cmd: "scan", match: pattern === undefined ? undefined : Buffer.from(pattern, "utf8"), count: count === undefined ? undefined : intArg(count, "--count") };
    },
  ),
  repl: defineCommand({
    meta: { name: "repl", description: "the interactive prompt (the default without a subcommand)" },
    args: connectionArgs,
    async run({ args }) {
      let client: OspreyClient | undefined;
      try {
        client = new OspreyClient({ ...address(args), ...credentials(args), ...tlsOption(args), reconnect: true });
        await client.open();
        process.exitCode = await repl(client);
      } catch (err) {
        process.exitCode = failure(err);
      } finally {
        client?.destroy();
      }
    },
  }),
};

/** The osprey-cli command; `runCli` runs it. */
export const cli = defineCommand({
  meta: {
    name: "osprey-cli",
    version,
    description: "Osprey command-line client. Without a subcommand: an interactive prompt.",
  },
  args: connectionArgs,
  subCommands,
  default: "repl",
});

/** Runs osprey-cli on `argv` (without the runtime and script). */
export async function runCli(argv: readonly string[]): Promise<void> {
  await runMain(cli, { rawArgs: prepareArgv(argv) });
}

if (import.meta.main) await runCli(process.argv.slice(2));
