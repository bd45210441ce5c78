// The protocol fuzzer of test/fuzz/ at any length: starts its own server on a free loopback port
// (the configuration the suite uses), sends --frames frames from --seed over both protocols and
// prints what it sent and found; exit 1 on any finding. --only-batch N replays one batch of a run.
//   bun bench/fuzz.ts --frames 2000000 --seed 7
//   bun bench/fuzz.ts --seed 7 --only-batch 1234

import { defineCommand, runMain, type ArgsDef } from "citty";
import type { Protocol } from "../test/fuzz/frames.ts";
import { fuzz, fuzzServerConfig, pingFresh } from "../test/fuzz/fuzzer.ts";
import { startServer } from "../test/support/server.ts";
import { numberOption, rejectUnknownOptions, runTool } from "./lib/cli.ts";

const args = {
  frames: { type: "string", default: "100000", description: "Frames to send (rounded up to whole batches)" },
  seed: { type: "string", default: "1", description: "Seed of the run; batch i has its own seed derived from it" },
  protocol: { type: "enum", options: ["both", "text", "resp"], default: "both", description: "Which protocol the batches speak" },
  "batch-frames": { type: "string", default: "100", description: "Frames per batch (one connection each)" },
  workers: { type: "string", default: "6", description: "Batches in flight at once" },
  "mutation-rate": { type: "string", default: "0.06", description: "Share of frames damaged" },
  "only-batch": { type: "string", description: "Replay this batch alone" },
} satisfies ArgsDef;

const main = defineCommand({
  meta: { name: "fuzz", description: "Fuzz a fresh Osprey server with valid and damaged requests in both protocols" },
  args,
  run: ({ args: a, rawArgs }) =>
    runTool(async () => {
      rejectUnknownOptions(rawArgs, Object.keys(args));
      const frames = numberOption("frames", a.frames, { min: 1, max: 1e10 });
      const seed = numberOption("seed", a.seed, { min: 0, max: 2 ** 32 - 1 });
      const batchFrames = numberOption("batch-frames", a["batch-frames"], { min: 1, max: 100_000 });
      const workers = numberOption("workers", a.workers, { min: 1, max: 256 });
      const mutationRate = numberOption("mutation-rate", a["mutation-rate"], { min: 0, max: 1, fraction: true });
      const onlyBatch = a["only-batch"] === undefined ? undefined : numberOption("only-batch", a["only-batch"], { min: 0, max: 1e9 });
      const protocols: Protocol[] = a.protocol === "both" ? ["text", "resp"] : [a.protocol as Protocol];
      const server = await startServer(fuzzServerConfig);
      const rss = [server.rssBytes()];
      const started = performance.now();
      let lastPrint = started;
      const report = await fuzz({
        port: server.port,
        frames,
        seed,
        protocols,
        batchFrames,
        workers,
        mutationRate,
        onlyBatch,
        afterBatch: (i) => {
          if (i % 50 === 0) rss.push(server.rssBytes());
          if (performance.now() - lastPrint > 10_000) {
            lastPrint = performance.now();
            process.stderr.write(`… ${i * batchFrames} frames, rss ${(rss.at(-1)! / 2 ** 20).toFixed(0)} MiB\n`);
          }
        },
      });
      const seconds = (performance.now() - started) / 1000;
      rss.push(server.rssBytes());
      const alive = server.proc.exitCode === null;
      const pings = alive ? [await pingFresh(server.port, "text"), await pingFresh(server.port, "resp")].filter((p) => p !== null) : ["the server exited"];
      const logged = server.log().split("\n").filter((l) => / (ERROR|FATAL) |InvariantError|ERR INTERNAL|^\s+at /.test(l));
      const findings = [...report.malformed, ...report.internalErrors, ...report.unanswered, ...pings, ...logged.map((l) => `log: ${l}`)];
      console.log(
        JSON.stringify({
          seed,
          frames: report.frames,
          batches: report.batches,
          seconds: Number(seconds.toFixed(1)),
          bytesSent: report.bytesSent,
          replies: report.replies,
          mutated: report.mutated,
          batchesClosedByServer: report.closedByServer,
          batchesRepliesCounted: report.countedBatches,
          batchesLeftWaiting: report.waiting,
          commands: { text: report.commandsSent.text.size, resp: report.commandsSent.resp.size },
          rssMiB: { first: Math.round(rss[0]! / 2 ** 20), max: Math.round(Math.max(...rss) / 2 ** 20), last: Math.round(rss.at(-1)! / 2 ** 20) },
          findings: findings.length,
        }),
      );
      for (const f of findings.slice(0, 50)) console.log(`finding: ${f}`);
      if (alive) await server.stop();
      return findings.length === 0 ? 0 : 1;
    }),
});

void runMain(main);
