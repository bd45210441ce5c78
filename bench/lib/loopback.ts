// The benchmark only ever talks to this machine: hosts outside loopback are refused.

const ipv4Loopback = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** True for "localhost", any 127.0.0.0/8 address, and ::1 (bracketed or fully written). */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  if (h === "localhost") return true;
  const v4 = ipv4Loopback.exec(h);
  if (v4) return v4.slice(1).every((octet) => Number(octet) <= 255);
  const v6 = h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
  return v6 === "::1" || /^(0{1,4}:){7}0{0,3}1$/.test(v6);
}
