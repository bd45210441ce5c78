// The server's command line and start-up, end to end: flags, OSPREY_* variables and their
// precedence over the file, --help and unknown flags, a start-up that reports a busy port or an
// unusable data_dir before recovering anything, and the modes of the files it creates.

import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RawClient } from "../support/client.ts";
import { serverEntry, spawnServer, startServer, writeConfig } from "../support/server.ts";

const toClean: string[] = [];
afterEach(() => {
  for (const dir of toClean.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "osprey-cli-"));
  toClean.push(dir);
  return dir;
}

/** A port that was free a moment ago (the kernel gives a new one to each port-0 bind). */
function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

/** Runs `osprey <args>` to completion, stdout and stderr collected (both pipes, never a terminal). */
async function run(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, serverEntry, ...args], { env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** Starts `osprey <args>` and waits until it listens; returns its port and the process. */
async function listening(args: string[], env: Record<string, string> = {}) {
  const server = spawnServer(args, { env });
  const m = await server.waitFor(/Osprey listening on (\S+):(\d+) \(pid \d+, data_dir (.*)\)/);
  return { server, host: m[1]!, port: Number(m[2]), dataDir: m[3]! };
}

async function stop(server: ReturnType<typeof spawnServer>): Promise<number> {
  server.proc.kill("SIGTERM");
  return (await server.exited()).code;
}

describe("the command line", () => {
  test("--help prints the options to stdout without terminal colours when stdout is a pipe, and exits 0", async () => {
    const { code, stdout } = await run(["--help"]);
    expect(code).toBe(0);
    for (const flag of ["--config", "--port", "--listen", "--data-dir", "--sync", "--repair", "--version", "OSPREY_LISTEN_ADDR"]) expect(stdout).toContain(flag);
    expect(stdout).not.toContain("\x1b");
  });

  test("an unknown flag exits 2 with one line naming it and pointing at --help, before starting anything", async () => {
    const { code, stdout, stderr } = await run(["--prot", "7071"]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toBe("osprey: unknown option --prot (osprey --help lists the options)\n");
  });

  test("a flag without its value and a stray argument exit 2", async () => {
    expect((await run(["--port"])).stderr).toBe("osprey: --port needs a value (osprey --help lists the options)\n");
    const stray = await run(["7071"]);
    expect(stray.code).toBe(2);
    expect(stray.stderr).toContain('unexpected argument "7071"');
  });

  test("--port listens on that port, where the old server silently kept 7070", async () => {
    const port = freePort();
    const dir = scratch();
    const { server, host, port: got } = await listening(["--port", String(port), "--data-dir", dir]);
    expect([host, got]).toEqual(["127.0.0.1", port]);
    const c = await RawClient.connect(port);
    expect(await c.request("PING\r\n")).toBe("PONG");
    c.close();
    expect(await stop(server)).toBe(0);
  });

  test("an environment variable beats the file and a flag beats both (listen_addr, data_dir, sync_policy)", async () => {
    const dir = scratch();
    const [envPort, flagPort] = [freePort(), freePort()];
    const config = writeConfig(dir, { listen_addr: "127.0.0.1:0", data_dir: join(dir, "from-file"), sync_policy: "os" });
    const env = { OSPREY_LISTEN_ADDR: `127.0.0.1:${envPort}`, OSPREY_DATA_DIR: join(dir, "from-env"), OSPREY_SYNC_POLICY: "always" };

    const a = await listening(["--config", config], env);
    expect([a.port, a.dataDir]).toEqual([envPort, join(dir, "from-env")]);
    const ca = await RawClient.connect(a.port);
    expect((await ca.stats()).sync_policy).toBe('"always"');
    ca.close();
    expect(await stop(a.server)).toBe(0);

    const b = await listening(["--config", config, "--port", String(flagPort), "--data-dir", join(dir, "from-flag"), "--sync=batch"], env);
    expect([b.port, b.dataDir]).toEqual([flagPort, join(dir, "from-flag")]);
    const cb = await RawClient.connect(b.port);
    expect((await cb.stats()).sync_policy).toBe('"batch"');
    cb.close();
    expect(await stop(b.server)).toBe(0);
  });

  test("a bad environment value stops the server naming the variable and the key", async () => {
    const dir = scratch();
    const { code, stderr } = await run(["--data-dir", dir, "--port", "0"], { OSPREY_MAX_CLIENTS: "lots" });
    expect(code).toBe(1);
    expect(stderr).toContain('bad configuration: OSPREY_MAX_CLIENTS: max_clients: expected a positive integer, got "lots"');
  });

  test("OSPREY_CONFIG names the config file when --config is not given", async () => {
    const dir = scratch();
    const config = writeConfig(dir, { listen_addr: "127.0.0.1:0", data_dir: join(dir, "via-env-config") });
    const { server, dataDir } = await listening([], { OSPREY_CONFIG: config });
    expect(dataDir).toBe(join(dir, "via-env-config"));
    expect(await stop(server)).toBe(0);
  });
});

describe("start-up fails fast and says why", () => {
  test("a busy port is reported with its address and the way out, before the data is recovered or the lock taken", async () => {
    // A data dir with something to recover, then its port taken by another process.
    const first = await startServer();
    const c = await RawClient.connect(first.port);
    for (let i = 0; i < 50; i++) expect(await c.request(`SET k${i} 1\r\nv\r\n`)).toBe("OK 1");
    c.close();
    expect(await first.signal("SIGTERM")).toBe(0);
    toClean.push(first.dataDir);

    const holder = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const { code, stderr } = await run(["--config", first.configPath, "--port", String(holder.port)]);
      expect(code).toBe(1);
      expect(stderr).toContain(`cannot start: cannot listen on 127.0.0.1:${holder.port} (listen_addr): the address is in use by another process (EADDRINUSE)`);
      expect(stderr).toContain("choose another port (--port, --listen, OSPREY_LISTEN_ADDR or listen_addr)");
      expect(stderr).not.toContain("recovered");
      expect(stderr).not.toContain("Failed to listen");
    } finally {
      holder.stop(true);
    }
  });

  test("a client that connects while the data is recovered waits, and is answered from the whole keyspace", async () => {
    // Enough WAL records that recovery takes a while: 200 MSETs of 1000 keys.
    const first = await startServer({ enable_snapshot: false, sync_policy: "os" });
    toClean.push(first.dataDir);
    const c = await RawClient.connect(first.port);
    for (let b = 0; b < 200; b++) {
      let line = "MSET";
      let payload = "";
      for (let i = 0; i < 1000; i++) {
        line += ` k${b}-${i} 6`;
        payload += String(i).padStart(6, "0");
      }
      expect(await c.request(`${line}\r\n${payload}\r\n`)).toBe("OK 1000");
    }
    c.close();
    expect(await first.signal("SIGTERM")).toBe(0);

    const port = freePort();
    const server = spawnServer(["--config", first.configPath, "--port", String(port)]);
    try {
      let early: RawClient | null = null;
      while (early === null) {
        try {
          early = await RawClient.connect(port);
        } catch {
          await Bun.sleep(5);
        }
      }
      const connectedMs = Date.now();
      expect(await early.request("GET k199-999\r\n")).toBe("VALUE 6 1 -1\r\n000999\r\n");
      expect((await early.stats()).keys).toBe("200000");
      early.close();
      // The port was bound before recovery: the connection was queued, not refused, and it
      // connected before the server (same clock) said it was listening.
      const listeningAt = /^(\S+) INFO Osprey listening on/m.exec(server.stderr());
      expect(listeningAt).not.toBeNull();
      expect(connectedMs).toBeLessThan(Date.parse(listeningAt![1]!));
    } finally {
      expect(await stop(server)).toBe(0);
    }
  }, 60_000);

  test("a data_dir that is a file is named as such, without raw errno text", async () => {
    const dir = scratch();
    const file = join(dir, "not-a-dir");
    writeFileSync(file, "x");
    for (const dataDir of [file, join(file, "below")]) {
      const { code, stderr } = await run(["--data-dir", dataDir, "--port", "0"]);
      expect(code).toBe(1);
      expect(stderr).toContain(`data_dir ${dataDir}`);
      expect(stderr).toMatch(dataDir === file ? /is a file, not a directory/ : /a parent of it is a file, not a directory/);
      expect(stderr).not.toMatch(/EEXIST|ENOTDIR|file already exists/);
    }
  });

  test("a data_dir the user cannot write, or cannot create, is named with what to do", async () => {
    // Root may write anywhere: as root the server runs as nobody (setpriv, util-linux) for this.
    const dir = scratch();
    chmodSync(dir, 0o755);
    const readOnly = join(dir, "read-only");
    mkdirSync(readOnly, { mode: 0o555 });
    chmodSync(readOnly, 0o555);
    const asUser = process.getuid?.() === 0 ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
    for (const [dataDir, what] of [[readOnly, "is not writable by this user"], [join(readOnly, "sub"), "cannot create data_dir"]] as const) {
      const proc = Bun.spawn([...asUser, process.execPath, serverEntry, "--data-dir", dataDir, "--port", "0"], { cwd: tmpdir(), stdin: "ignore", stdout: "ignore", stderr: "pipe" });
      const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
      expect(code).toBe(1);
      expect(stderr).toContain(what === "cannot create data_dir" ? `cannot create data_dir ${dataDir}: permission denied` : `data_dir ${dataDir} is not writable by this user`);
      expect(stderr).toContain("give the server's user write access");
      expect(stderr).not.toMatch(/EACCES: /);
    }
  });

  test("files and folders the server creates are private to its user (0600 and 0700)", async () => {
    const dir = scratch();
    const dataDir = join(dir, "data");
    const { server, port } = await listening(["--data-dir", dataDir, "--port", "0"]);
    const c = await RawClient.connect(port);
    expect(await c.request("SET k 1\r\nv\r\n")).toBe("OK 1");
    c.close();
    expect(await stop(server)).toBe(0);
    const mode = (p: string) => statSync(join(dataDir, p)).mode & 0o777;
    expect(mode(".")).toBe(0o700);
    expect(mode("logs")).toBe(0o700);
    for (const f of ["LOCK", "MANIFEST.json", "wal-00000001.oswal", "logs/osprey.log"]) expect([f, mode(f)]).toEqual([f, 0o600]);
  });

  test("umask = \"027\" lets the group read", async () => {
    const dir = scratch();
    const dataDir = join(dir, "data");
    const { server } = await listening(["--data-dir", dataDir, "--port", "0"], { OSPREY_UMASK: "027" });
    expect(await stop(server)).toBe(0);
    expect(statSync(dataDir).mode & 0o777).toBe(0o750);
    expect(statSync(join(dataDir, "MANIFEST.json")).mode & 0o777).toBe(0o640);
  });
});
