// Test support for the real-client tests: one Osprey server per file, and the values and key
// names every client test uses, so each library is put through the same sequence.

/** Every byte value 0..255, twice, then CRLF and a NUL: a value no text encoding survives unchanged. */
export const binaryValue: Uint8Array<ArrayBuffer> = (() => {
  const b = new Uint8Array(514);
  for (let i = 0; i < 512; i++) b[i] = i & 0xff;
  b[512] = 13;
  b[513] = 10;
  return b;
})();

/** A key of bytes that are not valid UTF-8. */
export const binaryKey: Uint8Array<ArrayBuffer> = Uint8Array.from([0xff, 0xfe, 0x00, 0x0d, 0x0a, 0x20, 0x80]);

/** How many commands each client pipelines. */
export const pipelineCommands = 1000;
