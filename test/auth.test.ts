// auth_password and [[users]] in osprey.toml: validation names what is wrong, the plain-text
// password warns, and the users verify their passwords (SHA-256 digests, Bun.password hashes).

import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { Auth, Perm } from "../src/auth.ts";
import { ConfigError, configFromObject } from "../src/config.ts";

const sha = (pw: string) => createHash("sha256").update(pw).digest("hex");
const quiet = { warn: () => {} };

function errorFor(raw: Record<string, unknown>): string {
  try {
    configFromObject(raw, quiet);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("users in the configuration", () => {
  test("nothing configured means no authentication: every connection may do everything", () => {
    const auth = new Auth(configFromObject({}, quiet));
    expect(auth.required).toBe(false);
    expect(auth.connectLimits).toBeNull();
  });

  test("a plain-text auth_password logs a warning suggesting a hashed user", () => {
    const warnings: string[] = [];
    configFromObject({ auth_password: "pw" }, { warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([expect.stringContaining("auth_password is kept in plain text")]);
  });

  test("a user's permissions and keys are read into bits and a pattern", () => {
    const cfg = configFromObject({ users: [{ name: "app", password_sha256: sha("x").toUpperCase(), permissions: ["read", "write"], keys: "app:*" }] }, quiet);
    expect(cfg.users).toEqual([{ name: "app", passwordSha256: sha("x"), passwordHash: null, permissions: Perm.Read | Perm.Write, keys: "app:*", enabled: true }]);
  });

  test.each([
    [{ users: "x" }, "users: expected an array of [[users]] tables"],
    [{ users: [1] }, "users[0]: expected a table"],
    [{ users: [{ name: "a b", password_sha256: sha("x"), permissions: [] }] }, "users[0]: expected a name of 1 to 128 printable characters"],
    [{ users: [{ name: "a", permissions: ["read"] }] }, "users[0]: expected exactly one of password_sha256 and password_hash, got \"neither\""],
    [{ users: [{ name: "a", password_sha256: sha("x"), password_hash: "$argon2id$x", permissions: [] }] }, "got \"both\""],
    [{ users: [{ name: "a", password_sha256: "abc", permissions: [] }] }, "users[0]: expected password_sha256 as 64 hex digits"],
    [{ users: [{ name: "a", password_hash: "plain", permissions: [] }] }, "users[0]: expected password_hash as an argon2 or bcrypt string"],
    [{ users: [{ name: "a", password_sha256: sha("x"), permissions: ["root"] }] }, "users[0]: expected permissions as a list of \"read\", \"write\", \"admin\""],
    [{ users: [{ name: "a", password_sha256: sha("x"), permissions: [], keys: "" }] }, "users[0]: expected keys as a non-empty glob"],
    [{ users: [{ name: "a", password_sha256: sha("x"), permissions: [], enabled: "yes" }] }, "users[0]: expected enabled as true or false"],
    [{ users: [{ name: "a", password_sha256: sha("x"), permissions: [], role: "x" }] }, "users[0]: expected only name, password_sha256"],
    [{ users: [{ name: "a", password_sha256: sha("x"), permissions: [] }, { name: "a", password_sha256: sha("y"), permissions: [] }] }, "users[1]: expected a name no other user has"],
    [{ auth_password: "pw", users: [{ name: "default", password_sha256: sha("x"), permissions: [] }] }, "users[0]: expected no user named \"default\" next to auth_password"],
  ])("%p is refused: %s", (raw, message) => {
    expect(errorFor(raw)).toContain(message);
  });
});

describe("password checks", () => {
  test("a SHA-256 user, a Bun.password user and auth_password accept their password only", async () => {
    const hash = await Bun.password.hash("hashed", { algorithm: "bcrypt", cost: 4 });
    const cfg = configFromObject(
      { auth_password: "plain", users: [{ name: "s", password_sha256: sha("digest"), permissions: ["read"] }, { name: "h", password_hash: hash, permissions: ["read"] }] },
      quiet,
    );
    const users = new Auth(cfg).users;
    const b = (s: string) => Buffer.from(s);
    expect([users.get("default")!.verify(b("plain")), users.get("default")!.verify(b("plain "))]).toEqual([true, false]);
    expect([users.get("s")!.verify(b("digest")), users.get("s")!.verify(b("Digest"))]).toEqual([true, false]);
    // Twice: the second success is answered from the remembered digest.
    expect([users.get("h")!.verify(b("hashed")), users.get("h")!.verify(b("hashed")), users.get("h")!.verify(b("other"))]).toEqual([true, true, false]);
  });

  test("a disabled user never authenticates, even with its password", () => {
    const cfg = configFromObject({ users: [{ name: "off", password_sha256: sha("pw"), permissions: ["read"], enabled: false }] }, quiet);
    expect(new Auth(cfg).users.get("off")!.verify(Buffer.from("pw"))).toBe(false);
  });
});

describe("TLS settings", () => {
  test.each([
    [{ tls_cert_file: "c.pem" }, "tls_key_file: expected a file next to tls_cert_file (TLS needs both)"],
    [{ tls_key_file: "k.pem" }, "tls_cert_file: expected a file next to tls_key_file (TLS needs both)"],
    [{ tls_client_auth: "required" }, "tls_client_auth: expected \"no\" while TLS is off"],
    [{ tls_cert_file: "c.pem", tls_key_file: "k.pem", tls_client_auth: "optional" }, "tls_ca_file: expected the CA file client certificates are checked against"],
    [{ tls_client_auth: "sometimes" }, "tls_client_auth: expected one of no, optional, required"],
  ])("%p is refused: %s", (raw, message) => {
    expect(errorFor(raw)).toContain(message);
  });

  test("TLS file paths resolve against the base folder", () => {
    const cfg = configFromObject({ tls_cert_file: "c.pem", tls_key_file: "/etc/k.pem", tls_ca_file: "ca.pem", tls_client_auth: "Required" }, { ...quiet, baseDir: "/srv/osprey" });
    expect([cfg.tlsCertFile, cfg.tlsKeyFile, cfg.tlsCaFile, cfg.tlsClientAuth]).toEqual(["/srv/osprey/c.pem", "/etc/k.pem", "/srv/osprey/ca.pem", "required"]);
  });
});
