// `npm start` is how the README starts the server; Ctrl-C (SIGINT to the terminal's whole process
// group) must end it with exit 0, as documented. Without `exec` in the script, the `sh -c` that
// npm runs scripts under died of the SIGINT and npm reported 130 though the server exited 0.

import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { writeConfig } from "../support/server.ts";

const repo = resolve(import.meta.dir, "../..");

test("npm start stops on Ctrl-C (SIGINT to its process group) with exit 0 after a clean shutdown", async () => {
  const dir = mkdtempSync(join(tmpdir(), "osprey-npm-start-"));
  try {
    const config = writeConfig(dir, { listen_addr: "127.0.0.1:0", data_dir: join(dir, "data") });
    // setsid: a process group of its own, as a terminal gives `npm start`, so the test runner is not signalled.
    const proc = Bun.spawn(["setsid", "--wait", "npm", "start", "--", "-c", config], { cwd: repo, stdout: "pipe", stderr: "pipe" });
    let stderr = "";
    const reader = proc.stderr.getReader();
    let serverPid = 0;
    while (serverPid === 0) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`npm start ended before listening: ${stderr}`);
      stderr += new TextDecoder().decode(value);
      const m = /listening on \S+ \(pid (\d+)/.exec(stderr);
      if (m) serverPid = Number(m[1]);
    }
    // The group Ctrl-C signals: the server's (it is npm's, under setsid).
    const group = Number(readFileSync(`/proc/${serverPid}/stat`, "latin1").split(") ")[1]!.split(" ")[2]);
    process.kill(-group, "SIGINT");
    expect(await proc.exited).toBe(0);
    expect(readFileSync(join(dir, "data", "logs", "osprey.log"), "latin1")).toContain("INFO bye");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 30000);
