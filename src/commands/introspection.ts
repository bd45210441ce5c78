// COMMAND [COUNT | LIST | INFO name… | DOCS [name…]]: what redis-cli asks for its help and hints,
// answered from the command table's RESP rows.

import { respError } from "../errors.ts";
import type { Context } from "./context.ts";
import type { Session } from "./session.ts";
import { commands, Flag, type Command } from "./table.ts";

/** The rows RESP speaks, in table order. */
function respCommands(): Command[] {
  return commands.filter((c) => c.resp !== null);
}

/** Redis's flag words for a row, in the order Redis lists them. */
function flagWords(c: Command): string[] {
  const words: string[] = [];
  const f = c.flags;
  if ((f & Flag.Write) !== 0) words.push("write");
  if ((f & Flag.Read) !== 0) words.push("readonly");
  if ((f & Flag.Grows) !== 0) words.push("denyoom");
  if ((f & Flag.Admin) !== 0) words.push("admin");
  if ((f & Flag.NoScript) !== 0) words.push("noscript");
  if ((f & Flag.Loading) !== 0) words.push("loading", "stale");
  if ((f & Flag.Fast) !== 0) words.push("fast");
  return words;
}

function writeInfo(s: Session, c: Command): void {
  const r = s.reply;
  const words = flagWords(c);
  r.arrayHeader(10);
  r.bulkText(c.name.toLowerCase());
  r.integer(c.resp!.arity);
  r.arrayHeader(words.length);
  for (const w of words) r.status(w);
  for (const k of c.keys) r.integer(k);
  r.arrayHeader(1);
  r.status(`@${c.resp!.group}`);
  r.arrayHeader(0); // tips
  r.arrayHeader(0); // key specs
  r.arrayHeader(0); // subcommands
}

function writeDocs(s: Session, c: Command): void {
  const r = s.reply;
  const resp = c.resp!;
  r.bulkText(c.name.toLowerCase());
  r.mapHeader(3);
  for (const [k, v] of [["summary", resp.summary], ["since", resp.since], ["group", resp.group]] as const) {
    r.bulkText(k);
    r.bulkText(v);
  }
}

export function commandCommand(s: Session, _ctx: Context): void {
  const p = s.p;
  const all = respCommands();
  const sub = p.argc > 1 ? s.text(1).toLowerCase() : "";
  const named = (from: number): (Command | undefined)[] => {
    const list: (Command | undefined)[] = [];
    for (let t = from; t < p.argc; t++) {
      const name = s.text(t).toUpperCase();
      list.push(all.find((c) => c.name === name));
    }
    return list;
  };
  if (p.argc === 1) {
    s.reply.arrayHeader(all.length);
    for (const c of all) writeInfo(s, c);
  } else if (sub === "count" && p.argc === 2) {
    s.reply.integer(all.length);
  } else if (sub === "list" && p.argc === 2) {
    s.reply.arrayHeader(all.length);
    for (const c of all) s.reply.bulkText(c.name.toLowerCase());
  } else if (sub === "info") {
    const list = p.argc === 2 ? all : named(2);
    s.reply.arrayHeader(list.length);
    for (const c of list) {
      if (c === undefined) s.reply.nil();
      else writeInfo(s, c);
    }
  } else if (sub === "docs") {
    const list = (p.argc === 2 ? all : named(2)).filter((c) => c !== undefined);
    s.reply.mapHeader(list.length);
    for (const c of list) writeDocs(s, c);
  } else {
    s.reply.error(respError(`unknown subcommand '${s.text(1).slice(0, 128)}'. Try COMMAND HELP.`));
  }
}
