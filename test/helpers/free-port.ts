// Ports for a server that must come back on the same port after a restart, or whose URL a peer must
// know before it starts (the fixtures' default is an ephemeral port per start).
//
// Why not "bind port 0, close, reuse the number": between the close and the child's bind (a Node
// start-up, ~1 s) any other test binding port 0 may be handed the same number by the kernel. So the
// ports come from BELOW the kernel's ephemeral range, where port-0 binds never land; a random pick
// checked by a bind makes two concurrent tests choosing the same fixed port unlikely.
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';

function ephemeralLow(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && low > 12_000) return low;
  } catch { /* not Linux: use the IANA dynamic range's start */ }
  return 49_152;
}

const taken = new Set<number>();

function bindable(port: number): Promise<boolean> {
  const srv = createServer();
  return new Promise((resolve) => {
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A port free right now, outside the ephemeral range, not handed out before by this process. */
export async function freePort(): Promise<number> {
  const high = ephemeralLow() - 1;
  const low = Math.max(10_000, high - 20_000);
  for (let i = 0; i < 200; i++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (taken.has(port)) continue;
    if (await bindable(port)) { taken.add(port); return port; }
  }
  throw new Error(`no free port found between ${low} and ${high}`);
}

/** n distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(await freePort());
  return ports;
}
