// PING and STATS.

import type { TextParser } from "../protocol/text.ts";
import { ascii, type Writer } from "../protocol/writer.ts";
import { Err } from "../errors.ts";
import type { Context } from "./context.ts";
import { reject } from "./args.ts";

const PONG = ascii("PONG\r\n");

export function ping(_p: TextParser, _b: Uint8Array, out: Writer, ctx: Context): void {
  ctx.stats.cmdOther++;
  out.bytes(PONG);
}

/**
 * The durability fields report the state of a server that has no write-ahead log yet: no current
 * file, nothing written, no snapshots. They become real when persistence lands.
 */
export function statsLines(ctx: Context, now: number): [string, string | number][] {
  const s = ctx.stats;
  const mem = process.memoryUsage();
  return [
    ["uptime_ms", now - ctx.startedMs],
    ["clients", ctx.clients],
    ["keys", ctx.store.size],
    ["expired_total", ctx.store.expiredTotal],
    ["evicted_total", 0],
    ["cmd_get", s.cmdGet],
    ["cmd_set", s.cmdSet],
    ["cmd_del", s.cmdDel],
    ["cmd_incr", s.cmdIncr],
    ["cmd_mget", s.cmdMget],
    ["cmd_mset", s.cmdMset],
    ["cmd_expire", s.cmdExpire],
    ["cmd_ttl", s.cmdTtl],
    ["cmd_exists", s.cmdExists],
    ["errors_total", s.errorsTotal],
    ["connections_total", s.connectionsTotal],
    ["rejected_clients_total", s.rejectedClientsTotal],
    ["slow_commands_total", s.slowCommandsTotal],
    ["wal_current", '""'],
    ["wal_bytes", 0],
    ["snapshots_total", 0],
    ["last_snapshot_ms", 0],
    ["sync_policy", `"${ctx.config.syncPolicy}"`],
    ["data_bytes", ctx.store.dataBytes],
    ["mem_rss_bytes", mem.rss],
    ["mem_heap_bytes", mem.heapUsed],
  ];
}

export function stats(_p: TextParser, _b: Uint8Array, out: Writer, ctx: Context, now: number): void {
  ctx.stats.cmdOther++;
  if (!ctx.config.metricsEnable) return void reject(ctx, out, Err.metricsDisabled);
  for (const [name, value] of statsLines(ctx, now)) out.text(`${name}=${value}\r\n`);
  out.text("END\r\n");
}
