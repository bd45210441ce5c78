// TLS with throw-away certificates made by openssl at run time: redis-cli --tls, the text
// protocol, the client library and osprey-cli over TLS; mutual TLS, required and optional;
// certificates reloaded on SIGHUP without dropping connections.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, parseAddress } from "../../src/client/index.ts";
import { cli as ospreyCli } from "../cli/run.ts";
import { run } from "../resp/redis.ts";
import { startServer, type RunningServer } from "../support/server.ts";

const dir = mkdtempSync(join(tmpdir(), "osprey-tls-"));
const at = (name: string) => join(dir, name);

async function openssl(args: string[]): Promise<void> {
  const { code, stderr } = await run(["openssl", ...args]);
  if (code !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${stderr}`);
}

/** A CA, two server certificates for 127.0.0.1 signed by it, a client certificate signed by it, and a self-signed client certificate. */
async function makeCertificates(): Promise<void> {
  await openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", at("ca.key"), "-out", at("ca.pem"), "-days", "1", "-subj", "/CN=Osprey test CA"]);
  await Bun.write(at("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  for (const [name, ext] of [["server", true], ["server2", true], ["client", false]] as const) {
    await openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", at(`${name}.key`), "-out", at(`${name}.csr`), "-subj", `/CN=${name}`]);
    await openssl(["x509", "-req", "-in", at(`${name}.csr`), "-CA", at("ca.pem"), "-CAkey", at("ca.key"), "-CAcreateserial", "-out", at(`${name}.pem`), "-days", "1", ...(ext ? ["-extfile", at("ext.cnf")] : [])]);
  }
  await openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", at("rogue.key"), "-out", at("rogue.pem"), "-days", "1", "-subj", "/CN=rogue"]);
}

function tlsServer(clientAuth: string): Promise<RunningServer> {
  return startServer({ tls_cert_file: at("server.pem"), tls_key_file: at("server.key"), tls_ca_file: at("ca.pem"), tls_client_auth: clientAuth });
}

async function redisCliPing(port: number, args: string[]): Promise<string> {
  const { stdout, stderr } = await run(["redis-cli", "-h", "127.0.0.1", "-p", String(port), ...args, "PING"]);
  return (stdout + stderr).trim();
}

const withCa = () => ["--tls", "--cacert", at("ca.pem")];
const withCert = (name: string) => [...withCa(), "--cert", at(`${name}.pem`), "--key", at(`${name}.key`)];

beforeAll(makeCertificates, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("TLS", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await tlsServer("no");
  });
  afterAll(async () => {
    await server?.stop();
  });

  test("redis-cli --tls --cacert talks RESP over TLS", async () => {
    expect(await redisCliPing(server.port, withCa())).toBe("PONG");
  });

  test("the text protocol works over TLS", async () => {
    const replies: string[] = [];
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port: server.port,
      tls: { ca: readFileSync(at("ca.pem"), "utf8") },
      socket: {
        // A TLS socket takes no bytes before its handshake ends: write once it has.
        handshake: (s) => void s.write("SET tls:k 2\r\nhi\r\nGET tls:k\r\n"),
        data: (_s, d) => void replies.push(Buffer.from(d).toString("latin1")),
      },
    });
    for (let i = 0; i < 200 && !replies.join("").includes("hi\r\n"); i++) await Bun.sleep(10);
    socket.end();
    expect(replies.join("")).toBe("OK 1\r\nVALUE 2 1 -1\r\nhi\r\n");
  });

  test("the client library and osprey-cli connect over TLS with the test CA", async () => {
    const client = await connect({ port: server.port, tls: { ca: readFileSync(at("ca.pem"), "utf8") } });
    try {
      expect(await client.set("tls:lib", "v")).toBe(1n);
    } finally {
      await client.close();
    }
    const got = await ospreyCli(["--port", String(server.port), "--cacert", at("ca.pem"), "get", "tls:lib"]);
    expect([got.code, got.stdout]).toEqual([0, "v"]);
  });

  test("a plain-TCP client gets no reply it can read", async () => {
    expect(await redisCliPing(server.port, [])).not.toBe("PONG");
  });
});

describe("tls_listen_addr", () => {
  test("serves TLS on its own port while listen_addr stays plain TCP", async () => {
    const server = await startServer({ tls_cert_file: at("server.pem"), tls_key_file: at("server.key"), tls_listen_addr: "127.0.0.1:0" });
    try {
      const tlsPort = Number(/TLS port on 127\.0\.0\.1:(\d+) \(tls_listen_addr\)/.exec(server.log())![1]);
      expect(await redisCliPing(tlsPort, withCa())).toBe("PONG");
      expect(await redisCliPing(server.port, [])).toBe("PONG");
      expect(await redisCliPing(tlsPort, [])).not.toBe("PONG");
      expect(await peerName(tlsPort)).toBe("server");
    } finally {
      await server.stop();
    }
  });
});

describe("mutual TLS", () => {
  test("required: a client without a certificate, or with one from another CA, is refused", async () => {
    const server = await tlsServer("required");
    try {
      expect(await redisCliPing(server.port, withCert("client"))).toBe("PONG");
      expect(await redisCliPing(server.port, withCa())).not.toBe("PONG");
      expect(await redisCliPing(server.port, withCert("rogue"))).not.toBe("PONG");
    } finally {
      await server.stop();
    }
  });

  test("optional: no certificate is fine, one that does not verify is refused", async () => {
    const server = await tlsServer("optional");
    try {
      expect(await redisCliPing(server.port, withCa())).toBe("PONG");
      expect(await redisCliPing(server.port, withCert("client"))).toBe("PONG");
      expect(await redisCliPing(server.port, withCert("rogue"))).not.toBe("PONG");
    } finally {
      await server.stop();
    }
  });
});

/** The common name of the certificate a new TLS connection to `port` is shown. */
async function peerName(port: number): Promise<string> {
  const { promise, resolve, reject } = Promise.withResolvers<string>();
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    tls: { ca: readFileSync(at("ca.pem"), "utf8") },
    socket: {
      handshake: (s, ok, error) => {
        if (!ok) return reject(error ?? new Error("TLS handshake failed"));
        const cert = s.getPeerCertificate() as { subject?: { CN?: string } } | undefined;
        resolve(cert?.subject?.CN ?? "");
      },
      data: () => {},
      error: (_s, err) => reject(err),
    },
  });
  try {
    return await promise;
  } finally {
    socket.end();
  }
}

describe("certificate reload on SIGHUP", () => {
  test("new certificate files serve new connections while connected clients go on; a bad one keeps the running certificate", async () => {
    copyFileSync(at("server.pem"), at("live.pem"));
    copyFileSync(at("server.key"), at("live.key"));
    const server = await startServer({ tls_cert_file: at("live.pem"), tls_key_file: at("live.key") });
    const before = await connect({ port: server.port, tls: { ca: readFileSync(at("ca.pem"), "utf8") }, reconnect: false });
    try {
      expect(await before.set("reload:k", "1")).toBe(1n);
      expect(await peerName(server.port)).toBe("server");

      copyFileSync(at("server2.pem"), at("live.pem"));
      copyFileSync(at("server2.key"), at("live.key"));
      process.kill(server.pid, "SIGHUP");
      await server.waitForLog("SIGHUP: tls_cert_file, tls_key_file reloaded: certificate CN=server2, valid until");
      expect(await peerName(server.port)).toBe("server2");
      expect(await before.set("reload:k", "2")).toBe(2n); // the same connection, not a new one

      writeFileSync(at("live.pem"), "not a certificate\n");
      process.kill(server.pid, "SIGHUP");
      await server.waitForLog("SIGHUP: TLS certificate not reloaded, the running one stays: tls_cert_file holds no certificate that can be read");
      expect(await peerName(server.port)).toBe("server2");

      copyFileSync(at("server.pem"), at("live.pem")); // server's certificate with server2's key
      process.kill(server.pid, "SIGHUP");
      await server.waitForLog("SIGHUP: TLS certificate not reloaded, the running one stays: tls_key_file is not the key of the certificate in tls_cert_file");
      expect(await peerName(server.port)).toBe("server2");
      expect(await redisCliPing(server.port, withCa())).toBe("PONG");
      expect(await before.set("reload:k", "3")).toBe(3n);
    } finally {
      await before.close();
      await server.stop();
    }
  });
});

describe("bench/bench.ts", () => {
  test("--cacert runs its load over TLS", async () => {
    const server = await tlsServer("no");
    try {
      const bench = Bun.spawn([process.execPath, join(import.meta.dir, "../../bench/bench.ts"), "--port", String(server.port), "--cacert", at("ca.pem"), "--duration", "0.3", "--warmup", "0", "--clients", "2", "--json"], {
        stdout: "pipe",
        stderr: "pipe",
      });
      const [out, code] = await Promise.all([new Response(bench.stdout).text(), bench.exited]);
      expect(code).toBe(0);
      const result = JSON.parse(out.trim().split("\n").at(-1)!) as { ops: number; errors: number };
      expect(result.ops).toBeGreaterThan(0);
      expect(result.errors).toBe(0);
    } finally {
      await server.stop();
    }
  }, 30_000);
});

describe("TLS addresses", () => {
  test("osprey+tls:// and tls:// URLs turn TLS on and carry the user and password; osprey:// does not", () => {
    expect(parseAddress("osprey+tls://ops:p%40ss@db.example:7443")).toEqual({ host: "db.example", port: 7443, tls: true, user: "ops", password: "p@ss" });
    expect(parseAddress("tls://127.0.0.1:7071")).toEqual({ host: "127.0.0.1", port: 7071, tls: true });
    expect(parseAddress("osprey://:secret@[::1]:7070")).toEqual({ host: "::1", port: 7070, password: "secret" });
    expect(parseAddress("127.0.0.1:7070")).toEqual({ host: "127.0.0.1", port: 7070 });
  });

  test("osprey-cli with OSPREY_ADDR=tls://… connects over TLS", async () => {
    const server = await tlsServer("no");
    try {
      const env = { OSPREY_ADDR: `tls://127.0.0.1:${server.port}`, NODE_EXTRA_CA_CERTS: at("ca.pem") };
      const got = await ospreyCli(["ping"], { env });
      expect([got.code, got.stdout]).toEqual([0, "PONG\n"]);
    } finally {
      await server.stop();
    }
  });
});
