// `osprey backup DEST [ADDR]`: an online backup of a running server. Unlike the other tools it does
// not open the data directory (the server holds its LOCK): it asks the server, over the text
// protocol, to copy a consistent state into DEST (`BACKUP <dir>`, persistence/backup.ts), then
// waits for STATS to report it done. DEST is a path on the server's machine.

import { resolve } from "node:path";
import type { Socket } from "bun";
import { parseAddress } from "../client/client.ts";
import { exitStatus, print, ToolError } from "./common.ts";

export const usage = "backup DEST [ADDR]    copy a running server's data into the new or empty directory DEST (ADDR: host:port, default $OSPREY_LISTEN_ADDR or 127.0.0.1:7070)";
export const arity = 1;
export const arityMax = 2;

/** How often STATS is asked while the copy runs. */
const pollMs = 100;

export async function run([destArg, addrArg]: string[]): Promise<number> {
  const dest = resolve(destArg!);
  // The text protocol splits on spaces; STATS quotes with `"`.
  if (/[\s"\x00-\x1f\x7f]/.test(dest)) throw new ToolError(`${JSON.stringify(dest)}: the destination must not contain spaces, quotes or control characters`);
  const addrText = addrArg ?? (process.env.OSPREY_LISTEN_ADDR || "127.0.0.1:7070");
  const { host, port } = parseAddress(addrText);
  const conn = await LineConnection.open(host, port, addrText);
  try {
    await conn.send(`BACKUP ${dest}\r\n`);
    const answer = await conn.line();
    if (answer !== "OK backup started") throw new ToolError(`the server refused: ${answer}`);
    const startedMs = performance.now();
    for (;;) {
      await Bun.sleep(pollMs);
      const stats = await conn.stats();
      if (stats.backup_in_progress !== "0") continue;
      if (stats.last_backup_dest !== `"${dest}"`) throw new ToolError(`the server reports another backup (${stats.last_backup_dest ?? "none"}) as the latest`);
      if (stats.last_backup_error !== '""') throw new ToolError(`the backup failed: ${stats.last_backup_error}`);
      const ms = performance.now() - startedMs;
      print(`backup of ${host}:${port} written to ${dest}: ${stats.last_backup_bytes} bytes in ${ms.toFixed(0)} ms; to restore, start a server with data_dir = ${dest}\n`);
      return exitStatus.ok;
    }
  } finally {
    conn.close();
  }
}

/** One text-protocol connection read a line at a time: all a tool that sends two commands needs. */
class LineConnection {
  #socket!: Socket<undefined>;
  #buf = "";
  #closed = false;
  #wake: (() => void) | null = null;

  static async open(host: string, port: number, addr: string): Promise<LineConnection> {
    const c = new LineConnection();
    try {
      c.#socket = await Bun.connect({
        hostname: host,
        port,
        socket: {
          data: (_s, data) => {
            c.#buf += Buffer.from(data).toString("utf8");
            c.#notify();
          },
          close: () => {
            c.#closed = true;
            c.#notify();
          },
          error: () => {},
        },
      });
    } catch (e) {
      throw new ToolError(`cannot connect to the server at ${addr}: ${(e as Error).message}`);
    }
    return c;
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  async send(text: string): Promise<void> {
    let bytes = Buffer.from(text, "utf8");
    while (bytes.length > 0) {
      if (this.#closed) throw new ToolError("the server closed the connection");
      const n = this.#socket.write(bytes);
      bytes = bytes.subarray(Math.max(0, n));
      if (bytes.length > 0) await Bun.sleep(1);
    }
  }

  async line(): Promise<string> {
    for (;;) {
      const i = this.#buf.indexOf("\r\n");
      if (i >= 0) {
        const line = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 2);
        return line;
      }
      if (this.#closed) throw new ToolError("the server closed the connection");
      await new Promise<void>((r) => (this.#wake = r));
    }
  }

  /** STATS as name → value (text values keep their quotes). */
  async stats(): Promise<Record<string, string>> {
    await this.send("STATS\r\n");
    const out: Record<string, string> = {};
    for (;;) {
      const line = await this.line();
      if (line === "END") return out;
      if (line.startsWith("ERR ")) throw new ToolError(`STATS: ${line}`);
      const eq = line.indexOf("=");
      out[line.slice(0, eq)] = line.slice(eq + 1);
    }
  }

  close(): void {
    this.#socket?.end();
  }
}
