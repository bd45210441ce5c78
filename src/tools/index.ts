// The tools, run as subcommands of the server executable (`osprey check DATA_DIR`, i.e.
// `bun src/server.ts check DATA_DIR` in a checkout): one file per tool, each `run(args)` resolving
// to an exit status. check, dump, load and repair work offline on a data directory; backup asks a
// running server for a copy. docs/OPERATIONS.md ("Back up and restore", "Check, dump, load and
// repair") describes them.

import * as backup from "./backup.ts";
import * as check from "./check.ts";
import { exitStatus, print, ToolError } from "./common.ts";
import * as dump from "./dump.ts";
import * as load from "./load.ts";
import * as repair from "./repair.ts";

export { exitStatus };

const tools = { check, dump, load, repair, backup } as const;

export type ToolName = keyof typeof tools;

/** The subcommands, in the order `--help` lists them. */
export const toolNames = Object.keys(tools) as ToolName[];

export function isToolName(name: string | undefined): name is ToolName {
  return name !== undefined && Object.hasOwn(tools, name);
}

/** Runs tool `name` with its arguments (those after the name); resolves to the exit status. */
export async function runTool(name: ToolName, args: string[]): Promise<number> {
  const tool = tools[name];
  const arityMax = "arityMax" in tool ? tool.arityMax : tool.arity;
  if (args.length < tool.arity || args.length > arityMax || args.some((a) => a.startsWith("-") && a !== "-")) {
    print(`usage: osprey ${tool.usage}\n`, 2);
    return exitStatus.usage;
  }
  try {
    return await tool.run(args);
  } catch (e) {
    if (!(e instanceof ToolError)) throw e;
    print(`osprey ${name}: ${e.message}\n`, 2);
    return e.status;
  }
}
