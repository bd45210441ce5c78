// kill -9 crash consistency of test/fault/crash.ts at any length: --cycles kills under load for
// each --policy, every acknowledged write checked after each restart; prints the figures and exits
// 1 if anything acknowledged was lost or an MSET/EXEC was half-applied.
//   bun bench/crash.ts --cycles 50 --policy both --seed 1

import { defineCommand, runMain, type ArgsDef } from "citty";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crashCycles, type SyncPolicy } from "../test/fault/crash.ts";
import { numberOption, rejectUnknownOptions, runTool } from "./lib/cli.ts";

const args = {
  cycles: { type: "string", default: "20", description: "Kills per policy" },
  policy: { type: "enum", options: ["both", "always", "batch"], default: "both", description: "sync_policy to run" },
  seed: { type: "string", default: "1", description: "Seed of kill times and workload" },
  "text-clients": { type: "string", default: "3", description: "Text-protocol clients (SET, INCR, MSET)" },
  "resp-clients": { type: "string", default: "2", description: "RESP clients (MULTI/EXEC)" },
  "load-ms": { type: "string", default: "1500", description: "Longest load before a kill (the kill comes at a random time from 300 ms to this)" },
} satisfies ArgsDef;

const main = defineCommand({
  meta: { name: "crash", description: "kill -9 an Osprey server under load, restart, and check every acknowledged write" },
  args,
  run: ({ args: a, rawArgs }) =>
    runTool(async () => {
      rejectUnknownOptions(rawArgs, Object.keys(args));
      const cycles = numberOption("cycles", a.cycles, { min: 1, max: 100_000 });
      const seed = numberOption("seed", a.seed, { min: 0, max: 2 ** 31 - 1 });
      const textClients = numberOption("text-clients", a["text-clients"], { min: 0, max: 200 });
      const respClients = numberOption("resp-clients", a["resp-clients"], { min: 0, max: 200 });
      const loadMsMax = numberOption("load-ms", a["load-ms"], { min: 300, max: 600_000 });
      const policies: SyncPolicy[] = a.policy === "both" ? ["always", "batch"] : [a.policy as SyncPolicy];
      let failed = false;
      for (const policy of policies) {
        const dataDir = mkdtempSync(join(tmpdir(), "osprey-crash-bench-"));
        const started = performance.now();
        try {
          const f = await crashCycles({
            dataDir,
            policy,
            cycles,
            seed,
            textClients,
            respClients,
            loadMsMax,
            onCycle: (i, f) => {
              if ((i + 1) % 10 === 0) process.stderr.write(`… ${policy}: ${i + 1} cycles, ${f.ackedWrites} acknowledged, ${f.lost.length} lost\n`);
            },
          });
          console.log(JSON.stringify({ policy, seed, seconds: Math.round((performance.now() - started) / 1000), cycles: f.cycles, ackedWrites: f.ackedWrites, ackedChecked: f.ackedChecked, keysChecked: f.keysChecked, snapshots: f.snapshots, lost: f.lost.length, unexpected: f.unexpected.length }));
          for (const l of [...f.lost, ...f.unexpected].slice(0, 50)) console.log(`finding: ${l}`);
          failed ||= f.lost.length > 0 || f.unexpected.length > 0;
        } finally {
          rmSync(dataDir, { recursive: true, force: true });
        }
      }
      return failed ? 1 : 0;
    }),
});

void runMain(main);
