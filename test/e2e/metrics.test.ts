// Prometheus metrics (metrics_listen_addr) end to end: off by default, a bare port means loopback,
// a busy port stops the start-up, and /metrics passes `promtool check metrics` — also when scraped
// while clients keep the server busy, with counters that only go up and agree with the traffic.

import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { RawClient } from "../support/client.ts";
import { spawnServer, startServer, writeConfig, type RunningServer } from "../support/server.ts";

const docs = resolve(import.meta.dir, "../../docs");

/** Starts a server with metrics on a free loopback port; returns it and the /metrics URL. */
async function withMetrics(config: Record<string, unknown> = {}): Promise<{ server: RunningServer; url: string }> {
  const server = await startServer({ metrics_listen_addr: "127.0.0.1:0", ...config });
  const m = /Prometheus metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(server.log());
  if (m === null) throw new Error(`no metrics line in:\n${server.log()}`);
  return { server, url: m[1]! };
}

/** `promtool check metrics` on `text`: exit status and what it printed. */
async function promtool(text: string): Promise<{ code: number; output: string }> {
  const proc = Bun.spawn(["promtool", "check", "metrics"], { stdin: new Blob([text]), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, output: out + err };
}

/** The value of one sample (`name` with its labels, as written), or NaN when absent. */
function sample(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.slice(name.length + 1));
}

test("the alerting rules in docs/ pass promtool check rules", async () => {
  const proc = Bun.spawn(["promtool", "check", "rules", join(docs, "prometheus-alerts.yml")], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  expect(out).toContain("SUCCESS");
  expect(code).toBe(0);
});

describe("metrics_listen_addr", () => {
  test("is off by default: nothing is served and nothing is logged about it", async () => {
    const server = await startServer();
    try {
      expect(server.log()).not.toContain("Prometheus");
    } finally {
      await server.stop();
    }
  });

  test("a bare port serves on loopback", async () => {
    const server = await startServer({ metrics_listen_addr: "0" });
    try {
      const m = /Prometheus metrics on http:\/\/(\S+):(\d+)\/metrics/.exec(server.log());
      expect(m?.[1]).toBe("127.0.0.1");
      expect((await fetch(`http://127.0.0.1:${m![2]}/metrics`)).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  test("a busy metrics port stops the start-up naming metrics_listen_addr", async () => {
    const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const dir = mkdtempSync(join(tmpdir(), "osprey-metrics-"));
    try {
      const config = writeConfig(dir, { listen_addr: "127.0.0.1:0", data_dir: dir, metrics_listen_addr: `127.0.0.1:${holder.port}` });
      const { code, stderr } = await spawnServer(["--config", config]).exited();
      expect(code).toBe(1);
      expect(stderr).toContain(`cannot listen on 127.0.0.1:${holder.port} (metrics_listen_addr): the address is in use`);
      expect(stderr).not.toContain("listening on");
    } finally {
      holder.stop(true);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("/metrics", () => {
  test("is valid Prometheus text (promtool) and counts the commands, keys and WAL traffic sent", async () => {
    const { server, url } = await withMetrics();
    try {
      const c = await RawClient.connect(server.port);
      for (let i = 0; i < 30; i++) expect(await c.request(`SET k${i} 3\r\nabc\r\n`)).toBe("OK 1");
      for (let i = 0; i < 7; i++) expect(await c.request(`GET k${i}\r\n`)).toStartWith("VALUE 3 1 -1");
      expect(await c.request("INCR k0\r\n")).toStartWith("ERR");
      expect(await c.request("SNAPSHOT\r\n")).toBe("OK snapshot started");
      while ((await c.stats()).snapshots_total !== "1") await Bun.sleep(20);
      c.close();

      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
      const text = await res.text();
      const check = await promtool(text);
      expect(check.output).toBe("");
      expect(check.code).toBe(0);

      expect(sample(text, 'osprey_commands_total{command="set"}')).toBe(30);
      expect(sample(text, 'osprey_commands_total{command="get"}')).toBe(7);
      expect(sample(text, "osprey_error_replies_total")).toBe(1);
      expect(sample(text, "osprey_keys")).toBe(30);
      expect(sample(text, "osprey_connections_total")).toBe(1);
      expect(sample(text, "osprey_wal_written_bytes_total")).toBeGreaterThan(30 * 3);
      expect(sample(text, 'osprey_read_handling_seconds_bucket{le="+Inf"}')).toBeGreaterThanOrEqual(38);
      expect(sample(text, "osprey_read_handling_seconds_count")).toBe(sample(text, 'osprey_read_handling_seconds_bucket{le="+Inf"}'));
      // This client waits for each reply: every request is a run of its own (SNAPSHOT, STATS always are).
      expect(sample(text, 'osprey_command_run_seconds_count{command="set"}')).toBe(30);
      expect(sample(text, 'osprey_command_run_seconds_bucket{command="set",le="+Inf"}')).toBe(30);
      expect(sample(text, 'osprey_command_run_requests_total{command="set"}')).toBe(30);
      expect(sample(text, 'osprey_command_run_seconds_count{command="get"}')).toBe(7);
      expect(sample(text, 'osprey_command_run_seconds_count{command="incr"}')).toBe(1);
      expect(sample(text, 'osprey_command_run_seconds_count{command="snapshot"}')).toBe(1);
      expect(sample(text, 'osprey_command_run_seconds_sum{command="set"}')).toBeGreaterThan(0);
      // By command row, as INFO commandstats: calls, the failed INCR, its error by kind.
      expect(sample(text, 'osprey_command_calls_total{command="set"}')).toBe(30);
      expect(sample(text, 'osprey_command_calls_total{command="get"}')).toBe(7);
      expect(sample(text, 'osprey_command_failed_calls_total{command="incr"}')).toBe(1);
      expect(sample(text, 'osprey_command_failed_calls_total{command="set"}')).toBe(0);
      expect(sample(text, 'osprey_command_rejected_calls_total{command="set"}')).toBe(0);
      const kinds = [...text.matchAll(/^osprey_errors_total\{kind="([A-Z]+)"\} (\d+)$/gm)];
      expect(kinds.map(([, , n]) => Number(n)).reduce((a, b) => a + b, 0)).toBe(1);
      expect(sample(text, "osprey_keyspace_hits_total")).toBe(7);
      expect(sample(text, "osprey_keyspace_misses_total")).toBe(0);
      expect(sample(text, "osprey_snapshot_duration_seconds_count")).toBe(1);
      expect(sample(text, "osprey_snapshot_duration_seconds_sum")).toBeCloseTo(sample(text, "osprey_last_snapshot_duration_seconds"), 6);
      expect(text).toMatch(/^osprey_build_info\{version="\d+\.\d+\.\d+",commit="[0-9a-f]*"\} 1$/m);
      expect((await fetch(url.replace("/metrics", "/other"))).status).toBe(404);

      // The shipped dashboard and alerts name only metrics the server exposes.
      const exposed = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) => (type === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!])));
      for (const doc of ["grafana-dashboard.json", "prometheus-alerts.yml"]) {
        const named = new Set(readFileSync(join(docs, doc), "utf8").match(/osprey_[a-z_]+/g));
        expect(named.size).toBeGreaterThan(5);
        expect([doc, [...named].filter((n) => !exposed.has(n))]).toEqual([doc, []]);
      }
    } finally {
      await server.stop();
    }
  });

  test("per-command latency is sampled: one request in 64 is timed alone and lands in its command's histogram", async () => {
    const { server, url } = await withMetrics();
    try {
      const c = await RawClient.connect(server.port);
      expect(await c.request("SET k 1\r\nv\r\n")).toBe("OK 1");
      // One write of 6,400 GETs and nothing else meanwhile: 100 of them are timed, give or take the countdown's start.
      await c.send("GET k\r\n".repeat(6400));
      for (let i = 0; i < 6400; i++) {
        expect(await c.line()).toStartWith("VALUE 1 1 -1");
        await c.line();
      }
      c.close();
      const text = await (await fetch(url)).text();
      const check = await promtool(text);
      expect(check.output).toBe("");
      const samples = sample(text, 'osprey_command_latency_seconds_count{command="get"}');
      expect(samples).toBeGreaterThanOrEqual(99);
      expect(samples).toBeLessThanOrEqual(101);
      expect(sample(text, 'osprey_command_latency_seconds_bucket{command="get",le="+Inf"}')).toBe(samples);
      expect(sample(text, 'osprey_command_latency_seconds_sum{command="get"}')).toBeGreaterThan(0);
      expect(sample(text, 'osprey_command_calls_total{command="get"}')).toBe(6400);
      // Runs are kept as they were: pipelined GETs are timed 32 to a run.
      expect(sample(text, 'osprey_command_run_requests_total{command="get"}')).toBe(6400);
    } finally {
      await server.stop();
    }
  });

  test("scraped while clients write, every page passes promtool and counters never go down", async () => {
    const { server, url } = await withMetrics({ sync_policy: "always" });
    try {
      let writing = true;
      const writers = Array.from({ length: 4 }, async (_, w) => {
        const c = await RawClient.connect(server.port);
        let n = 0;
        while (writing) {
          // Pipelined batches of 50, so reads carry many requests each.
          let batch = "";
          for (let i = 0; i < 50; i++) batch += `SET w${w}-${n++ % 2000} 8\r\n12345678\r\n`;
          await c.send(batch);
          for (let i = 0; i < 50; i++) expect(await c.line()).toStartWith("OK ");
        }
        c.close();
        return n;
      });
      let last = 0;
      let syncs = 0;
      for (let i = 0; i < 10; i++) {
        await Bun.sleep(100);
        const text = await (await fetch(url)).text();
        const check = await promtool(text);
        expect(check.output).toBe("");
        expect(check.code).toBe(0);
        const sets = sample(text, 'osprey_commands_total{command="set"}');
        expect(sets).toBeGreaterThanOrEqual(last);
        last = sets;
        syncs = sample(text, "osprey_wal_syncs_total");
      }
      writing = false;
      const sent = (await Promise.all(writers)).reduce((a, b) => a + b, 0);
      expect(last).toBeGreaterThan(0);
      expect(syncs).toBeGreaterThan(0);
      const final = await (await fetch(url)).text();
      expect(sample(final, 'osprey_commands_total{command="set"}')).toBe(sent);
      // Pipelined: runs of up to 32 SETs, every SET in one of them.
      expect(sample(final, 'osprey_command_run_requests_total{command="set"}')).toBe(sent);
      const runs = sample(final, 'osprey_command_run_seconds_count{command="set"}');
      expect(runs).toBeGreaterThanOrEqual(sent / 32);
      expect(runs).toBeLessThan(sent);
      // Under always every write waits for an fdatasync, each one timed.
      expect(sample(final, "osprey_wal_sync_seconds_count")).toBe(sample(final, "osprey_wal_syncs_total"));
      expect(sample(final, 'osprey_wal_sync_seconds_bucket{le="+Inf"}')).toBeGreaterThan(0);
    } finally {
      await server.stop();
    }
  });
});
