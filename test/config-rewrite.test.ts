// rewriteConfigFile (CONFIG REWRITE's edit of osprey.toml): only the changed values' bytes change,
// whatever the file's spelling (comments after values, quoted keys, CRLF, strings holding `#`); a
// file it cannot edit safely is left untouched; the file's mode and a symlink to it are kept.

import { afterEach, describe, expect, test } from "bun:test";
import { chmodSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RewriteError, rewriteConfigFile } from "../src/config.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "osprey-rewrite-unit-"));
  dirs.push(dir);
  const path = join(dir, "osprey.toml");
  writeFileSync(path, text);
  return path;
}

describe("rewriteConfigFile", () => {
  test("changes only the value, keeping a comment after it, a quoted key and CRLF line ends", () => {
    const path = file('# head\r\nmax_clients = 10000   # the limit\r\n"eviction_policy" = \'noeviction\'\r\nlog_file = "a#b.log"\r\n');
    rewriteConfigFile(
      path,
      new Map<string, string | number>([
        ["max_clients", 42],
        ["eviction_policy", "allkeys-lfu"],
        ["log_file", "x # y.log"],
      ]),
    );
    expect(readFileSync(path, "utf8")).toBe('# head\r\nmax_clients = 42   # the limit\r\n"eviction_policy" = "allkeys-lfu"\r\nlog_file = "x # y.log"\r\n');
  });

  test("a new key goes before the first table, so it stays a top-level key", () => {
    const path = file('listen_addr = "127.0.0.1:0"\n\n[[users]]\nname = "app"\npassword_sha256 = "' + "0".repeat(64) + '"\npermissions = ["read"]\n');
    rewriteConfigFile(path, new Map([["max_memory_bytes", 1024]]));
    const text = readFileSync(path, "utf8");
    expect(text).toStartWith('listen_addr = "127.0.0.1:0"\nmax_memory_bytes = 1024\n\n[[users]]\nname = "app"\n');
  });

  test("a value it cannot find on one line is refused and the file is left as it was, with no temporary file", () => {
    const text = 'notify_keyspace_events = """\nKEA"""\n';
    const path = file(text);
    expect(() => rewriteConfigFile(path, new Map([["notify_keyspace_events", "Ex"]]))).toThrow(RewriteError);
    expect(readFileSync(path, "utf8")).toBe(text);
    expect(readdirSync(join(path, ".."))).toEqual(["osprey.toml"]);
  });

  test("a file that is not valid TOML any more is refused without a path in the message", () => {
    const path = file("max_clients = = 3\n");
    let message = "";
    try {
      rewriteConfigFile(path, new Map([["max_clients", 4]]));
    } catch (err) {
      expect(err).toBeInstanceOf(RewriteError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/^the config file as it is now is not valid TOML \(line 1, column \d+\)$/);
    expect(message).not.toContain(path);
  });

  test("keeps the file's mode, and rewrites a symlink's target, not the link", () => {
    const path = file("max_clients = 1\n");
    chmodSync(path, 0o640);
    const link = join(path, "..", "link.toml");
    symlinkSync(path, link);
    rewriteConfigFile(link, new Map([["max_clients", 2]]));
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(path, "utf8")).toBe("max_clients = 2\n");
    expect(statSync(path).mode & 0o777).toBe(0o640);
  });
});
