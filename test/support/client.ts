// Test support: a raw TCP client that sends exact bytes and reads replies by line or byte count.

import type { Socket } from "bun";

/** Options of RawClient.connect. */
export interface RawClientOptions {
  /** Disable Nagle so each write leaves as its own segment (default true). */
  noDelay?: boolean;
}

export class RawClient {
  #socket!: Socket<undefined>;
  // Received, unread bytes are #buf[#start..#end): appends and reads are amortised O(1), so a
  // client can take in tens of MiB without quadratic copying.
  #buf = Buffer.allocUnsafe(64 * 1024);
  #start = 0;
  #end = 0;
  #waiters: (() => void)[] = [];
  #closed = false;
  /** Resolves when the server closes the connection. */
  readonly closed: Promise<void>;
  #onClosed!: () => void;

  private constructor() {
    this.closed = new Promise((r) => (this.#onClosed = r));
  }

  static async connect(port: number, host = "127.0.0.1", opts: RawClientOptions = {}): Promise<RawClient> {
    const c = new RawClient();
    c.#socket = await Bun.connect({
      hostname: host,
      port,
      socket: {
        data: (_s, data) => {
          c.#append(data);
          c.#wake();
        },
        drain: () => c.#wake(),
        close: () => {
          c.#closed = true;
          c.#onClosed();
          c.#wake();
        },
        error: () => {},
      },
    });
    if (opts.noDelay !== false) c.#socket.setNoDelay(true);
    return c;
  }

  /** The port this end of the connection was given (what the server sees as the client's). */
  get localPort(): number {
    return this.#socket.localPort;
  }

  #append(data: Uint8Array): void {
    const n = data.length;
    if (this.#end + n > this.#buf.length) {
      const live = this.#end - this.#start;
      if (live + n > this.#buf.length / 2) {
        const grown = Buffer.allocUnsafe(Math.max(2 * this.#buf.length, 2 * (live + n)));
        this.#buf.copy(grown, 0, this.#start, this.#end);
        this.#buf = grown;
      } else {
        this.#buf.copyWithin(0, this.#start, this.#end);
      }
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(data, this.#end);
    this.#end += n;
  }

  #view(): Buffer {
    return this.#buf.subarray(this.#start, this.#end);
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Resolves at the next socket event (data, drain, close) or after `ms`. */
  #nextEvent(ms: number): Promise<void> {
    return new Promise<void>((r) => {
      const t = setTimeout(r, ms);
      this.#waiters.push(() => {
        clearTimeout(t);
        r();
      });
    });
  }

  async #until(ready: () => boolean, what: string, timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (this.#closed) throw new Error(`connection closed while waiting for ${what}; have ${this.#preview()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; have ${this.#preview()}`);
      await this.#nextEvent(left);
    }
  }

  #preview(): string {
    return JSON.stringify(this.#view().subarray(0, 200).toString("latin1"));
  }

  /** Writes all bytes, waiting for the socket's drain event when it pushes back. */
  async send(data: string | Uint8Array): Promise<void> {
    let bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data;
    while (bytes.length > 0) {
      if (this.#closed) throw new Error("socket closed");
      const n = this.#socket.write(bytes);
      if (n < 0) throw new Error("socket closed");
      bytes = bytes.subarray(n);
      if (bytes.length > 0) await this.#nextEvent(20000);
    }
  }

  /**
   * Sends `data` in pieces of `chunkBytes` (1 = byte at a time), each its own socket write, and
   * lets the event loop turn between pieces so they reach the server as separate reads.
   */
  async sendInPieces(data: string | Uint8Array, chunkBytes: number): Promise<void> {
    const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data;
    for (let i = 0; i < bytes.length; i += chunkBytes) {
      await this.send(bytes.subarray(i, i + chunkBytes));
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  /** The next reply line, without its CRLF. */
  async line(): Promise<string> {
    await this.#until(() => this.#view().indexOf("\r\n") >= 0, "a line");
    const view = this.#view();
    const i = view.indexOf("\r\n");
    const line = view.subarray(0, i).toString("latin1");
    this.#start += i + 2;
    return line;
  }

  /** Exactly n bytes. */
  async bytes(n: number): Promise<Buffer> {
    await this.#until(() => this.#end - this.#start >= n, `${n} bytes`);
    const out = Buffer.from(this.#buf.subarray(this.#start, this.#start + n));
    this.#start += n;
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

  /** Sends one request and returns its (single) reply. */
  async request(data: string | Uint8Array): Promise<string> {
    await this.send(data);
    return this.reply();
  }

  /** Sends STATS and returns its fields (quoted values keep their quotes). */
  async stats(): Promise<Record<string, string>> {
    await this.send("STATS\r\n");
    const fields: Record<string, string> = {};
    for (;;) {
      const line = await this.line();
      if (line === "END") return fields;
      const eq = line.indexOf("=");
      fields[line.slice(0, eq)] = line.slice(eq + 1);
    }
  }

  /** Waits for the server to close the connection; rejects after timeoutMs. */
  async waitClosed(timeoutMs = 20000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`connection still open after ${timeoutMs}ms; have ${this.#preview()}`)), timeoutMs);
    });
    try {
      await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Bytes received but not yet read. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Whether the server has closed the connection. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Stops reading from the kernel: the server sees a client that does not read. */
  pause(): void {
    this.#socket.pause();
  }

  /** Reads again after pause(). */
  resume(): void {
    this.#socket.resume();
  }

  close(): void {
    this.#socket.end();
  }
}
