// Test support: a raw TCP client that sends exact bytes and reads replies by line or byte count.

import type { Socket } from "bun";

export class RawClient {
  #socket!: Socket<undefined>;
  #buf = Buffer.alloc(0);
  #waiters: (() => void)[] = [];
  #closed = false;
  /** Resolves when the server closes the connection. */
  readonly closed: Promise<void>;
  #onClosed!: () => void;

  private constructor() {
    this.closed = new Promise((r) => (this.#onClosed = r));
  }

  static async connect(port: number, host = "127.0.0.1"): Promise<RawClient> {
    const c = new RawClient();
    c.#socket = await Bun.connect({
      hostname: host,
      port,
      socket: {
        data: (_s, data) => {
          c.#buf = Buffer.concat([c.#buf, data]);
          c.#wake();
        },
        close: () => {
          c.#closed = true;
          c.#onClosed();
          c.#wake();
        },
        error: () => {},
      },
    });
    return c;
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  async #until(ready: () => boolean, what: string, timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (this.#closed) throw new Error(`connection closed while waiting for ${what}; have ${JSON.stringify(this.#buf.toString("latin1").slice(0, 200))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; have ${JSON.stringify(this.#buf.toString("latin1").slice(0, 200))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Writes all bytes, waiting for drain when the socket pushes back. */
  async send(data: string | Uint8Array): Promise<void> {
    let bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data;
    while (bytes.length > 0) {
      const n = this.#socket.write(bytes);
      if (n < 0) throw new Error("socket closed");
      bytes = bytes.subarray(n);
      if (bytes.length > 0) await Bun.sleep(1);
    }
  }

  /** The next reply line, without its CRLF. */
  async line(): Promise<string> {
    await this.#until(() => this.#buf.indexOf("\r\n") >= 0, "a line");
    const i = this.#buf.indexOf("\r\n");
    const line = this.#buf.subarray(0, i).toString("latin1");
    this.#buf = this.#buf.subarray(i + 2);
    return line;
  }

  /** Exactly n bytes. */
  async bytes(n: number): Promise<Buffer> {
    await this.#until(() => this.#buf.length >= n, `${n} bytes`);
    const out = Buffer.from(this.#buf.subarray(0, n));
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  /** One whole reply as text: a line, plus the value bytes and CRLF after a VALUE line. */
  async reply(): Promise<string> {
    const line = await this.line();
    const m = /^VALUE (?:\S+ )?(\d+) \d+ -?\d+$/.exec(line);
    if (!m) return line;
    const body = await this.bytes(Number(m[1]) + 2);
    return `${line}\r\n${body.toString("latin1")}`;
  }

  /** Bytes received but not yet read. */
  get buffered(): number {
    return this.#buf.length;
  }

  close(): void {
    this.#socket.end();
  }
}
