/**
 * IPv4 address and CIDR arithmetic on unsigned 32-bit integers. Pure; throws RangeError on
 * malformed input.
 */
export interface Cidr {
  /** network address (host bits cleared) */
  base: number;
  prefix: number;
  /** number of addresses in the block */
  size: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function isIPv4(s: string): boolean {
  const m = IPV4.exec(s);
  return !!m && m.slice(1).every((p) => Number(p) <= 255 && (p === '0' || !p.startsWith('0')));
}

export function ipToInt(ip: string): number {
  if (!isIPv4(ip)) throw new RangeError(`not an IPv4 address: "${ip}"`);
  return ip.split('.').reduce((acc, p) => ((acc << 8) | Number(p)) >>> 0, 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(cidr: string): Cidr {
  const [ip, bits] = cidr.split('/');
  const prefix = Number(bits);
  if (bits === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new RangeError(`not an IPv4 CIDR: "${cidr}"`);
  const size = 2 ** (32 - prefix);
  const addr = ipToInt(ip);
  return { base: addr - (addr % size), prefix, size };
}

export function cidrContains(c: Cidr, ip: string | number): boolean {
  const n = typeof ip === 'number' ? ip : isIPv4(ip) ? ipToInt(ip) : -1;
  return n >= c.base && n < c.base + c.size;
}

export function formatCidr(c: Cidr): string {
  return `${intToIp(c.base)}/${c.prefix}`;
}

/** `1.2.3.4` → `1-2-3-4` (the label form DNS uses for pod and endpoint names). */
export function dashedIp(ip: string): string {
  return ip.replace(/\./g, '-');
}
