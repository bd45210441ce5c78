// TLS with throw-away certificates made by openssl at run time: redis-cli --tls, the text
// protocol, the client library and osprey-cli over TLS; mutual TLS, required and optional.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "../../src/client/index.ts";
import { cli as ospreyCli } from "../cli/run.ts";
import { run } from "../resp/redis.ts";
import { startServer, type RunningServer } from "../support/server.ts";

const dir = mkdtempSync(join(tmpdir(), "osprey-tls-"));
const at = (name: string) => join(dir, name);

async function openssl(args: string[]): Promise<void> {
  const { code, stderr } = await run(["openssl", ...args]);
  if (code !== 0) throw new Error(`openssl ${args.join(" ")} failed: ${stderr}`);
}

/** A CA, a server certificate for 127.0.0.1 signed by it, a client certificate signed by it, and a self-signed client certificate. */
async function makeCertificates(): Promise<void> {
  await openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", at("ca.key"), "-out", at("ca.pem"), "-days", "1", "-subj", "/CN=Osprey test CA"]);
  await Bun.write(at("ext.cnf"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  for (const [name, ext] of [["server", true], ["client", false]] as const) {
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

beforeAll(makeCertificates);
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
