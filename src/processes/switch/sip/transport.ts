// SIP over UDP and TCP on one port number (the thin socket adapter). Parses what arrives, hands
// messages up with the flow they came on, answers unparseable requests 400 where it can address a
// response, and sends on the flow a message belongs to (a phone registered over TCP gets its INVITEs
// on its own connection). Binding errors name the port and the setting (--sip-port / switch.sip.port).
import { createSocket, type Socket } from 'node:dgram';
import { createConnection, createServer, type Server, type Socket as TcpSocket } from 'node:net';
import { PortInUseError } from '../../../lib/listen.js';
import { parseMessage, responseTo, serialize, SipParseError, type SipMessage } from './message.js';
import { StreamFramer } from './stream-framer.js';

/** Socket buffers asked for the SIP UDP socket (bytes; the kernel may grant less). */
const UDP_RECV_BUFFER = 8 * 1024 * 1024;
const UDP_SEND_BUFFER = 1024 * 1024;

export type SipProtocol = 'UDP' | 'TCP';

/** Where a message came from or goes to. For TCP, `conn` names the connection when there is one. */
export interface Flow { protocol: SipProtocol; address: string; port: number; conn?: number }

export interface TransportHandlers {
  message(msg: SipMessage, from: Flow): void;
  /** Input that was not SIP (answered 400 when possible): for the junk log, never an error. */
  junk(from: Flow, reason: string): void;
}

export const SIP_PORT_SETTING = '--sip-port / switch.sip.port';
const IDLE_TCP_MS = 300_000;

export class SipTransport {
  private udp?: Socket;
  private tcp?: Server;
  private readonly conns = new Map<number, TcpSocket>();
  /** "address:port" -> open connection id, for requests to a TCP contact. */
  private readonly byPeer = new Map<string, number>();
  private nextConn = 1;
  port = 0;

  constructor(private readonly host: string, private readonly handlers: TransportHandlers) {}

  /** Binds UDP and TCP on `port` (0: a free port, the same number for both). */
  async listen(port: number): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const udpPort = await this.bindUdp(port);
      try {
        await this.listenTcp(udpPort);
        this.port = udpPort;
        return udpPort;
      } catch (err) {
        this.udp?.close();
        this.udp = undefined;
        // With port 0 the UDP port's TCP twin may be taken by chance: try another free port.
        if (port !== 0 || attempt >= 5) throw err;
      }
    }
  }

  private bindUdp(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      // The kernel's default receive buffer (~208 KiB on Linux) overflowed in the SIP bench at 400
      // calls/s: thousands of datagrams (phones' 180s and 200s) dropped whenever the loop was busy
      // for ~0.1 s. Ask for more; Linux caps it at net.core.rmem_max (docs/sip.md "Robustness").
      const sock = createSocket({ type: this.host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: UDP_RECV_BUFFER, sendBufferSize: UDP_SEND_BUFFER });
      sock.once('error', (err: NodeJS.ErrnoException) => reject(explain(err, port, this.host)));
      sock.bind(port, this.host, () => {
        sock.removeAllListeners('error');
        sock.on('error', () => { /* ICMP errors on send: the transaction layer times out */ });
        sock.on('message', (data, rinfo) => this.onBytes(data, { protocol: 'UDP', address: rinfo.address, port: rinfo.port }));
        this.udp = sock;
        resolve(sock.address().port);
      });
    });
  }

  private listenTcp(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createServer((s) => this.adopt(s));
      server.once('error', (err: NodeJS.ErrnoException) => reject(explain(err, port, this.host)));
      server.listen(port, this.host, () => {
        server.removeAllListeners('error');
        server.on('error', () => { /* accept errors: the listener stays */ });
        this.tcp = server;
        resolve();
      });
    });
  }

  private adopt(s: TcpSocket): number {
    const id = this.nextConn++;
    const peer = `${s.remoteAddress}:${s.remotePort}`;
    this.conns.set(id, s);
    this.byPeer.set(peer, id);
    const framer = new StreamFramer();
    s.setTimeout(IDLE_TCP_MS, () => s.destroy());
    s.on('data', (chunk: Buffer) => {
      const from: Flow = { protocol: 'TCP', address: s.remoteAddress ?? '', port: s.remotePort ?? 0, conn: id };
      for (const f of framer.push(chunk)) {
        if (f.ok) this.onBytes(f.bytes, from);
        else {
          this.onBytes(f.bytes, from, f.reason);
          s.end();
        }
      }
    });
    s.on('error', () => s.destroy());
    s.on('close', () => {
      this.conns.delete(id);
      if (this.byPeer.get(peer) === id) this.byPeer.delete(peer);
    });
    return id;
  }

  private onBytes(data: Buffer, from: Flow, framingError?: string): void {
    let msg: SipMessage;
    try {
      if (framingError) throw new SipParseError(framingError);
      msg = parseMessage(data);
    } catch (err) {
      const reason = err instanceof SipParseError ? err.message : `unparseable: ${(err as Error).message}`;
      this.handlers.junk(from, reason);
      // A response needs the request's Via, From, To, Call-ID and CSeq: only then can one be sent.
      if (err instanceof SipParseError && err.partial) this.send(responseTo(err.partial, 400, `Bad Request (${reason.slice(0, 80).replace(/[\r\n]/g, ' ')})`), from);
      return;
    }
    if (msg.kind === 'request') stampReceived(msg, from);
    this.handlers.message(msg, from);
  }

  /** Sends on the flow; a TCP flow without an open connection connects first (phones' TCP contacts). */
  send(msg: SipMessage, to: Flow): void {
    const bytes = serialize(msg);
    if (to.protocol === 'UDP') {
      // A bad port or address throws at once; the transaction times out like for a lost datagram.
      try { this.udp?.send(bytes, to.port, to.address); } catch { /* reported by the transaction's timeout */ }
      return;
    }
    let id = to.conn !== undefined && this.conns.has(to.conn) ? to.conn : this.byPeer.get(`${to.address}:${to.port}`);
    if (id === undefined) {
      const s = createConnection({ host: to.address, port: to.port });
      id = this.adopt(s);
      this.byPeer.set(`${to.address}:${to.port}`, id);
    }
    this.conns.get(id)?.write(bytes);
  }

  async close(): Promise<void> {
    for (const s of this.conns.values()) s.destroy();
    this.conns.clear();
    await Promise.all([
      new Promise<void>((r) => (this.udp ? this.udp.close(() => r()) : r())),
      new Promise<void>((r) => (this.tcp ? this.tcp.close(() => r()) : r())),
    ]);
  }
}

/** RFC 3261 §18.2.1 / RFC 3581: the top Via learns where the request really came from. */
function stampReceived(req: SipMessage, from: Flow): void {
  const top = req.headers.find((h) => h.name === 'via');
  if (!top) return;
  let v = top.value.replace(/;received=[^;]*/i, '');
  v = /;rport(?=;|$)/i.test(v) ? v.replace(/;rport(?=;|$)/i, `;rport=${from.port}`) : v;
  top.value = `${v};received=${from.address}`;
}

function explain(err: NodeJS.ErrnoException, port: number, host: string): Error {
  if (err.code === 'EADDRINUSE') {
    const e = new PortInUseError(port, SIP_PORT_SETTING, host);
    e.message = `SIP port ${port} (UDP/TCP) on ${host} is already in use (setting: ${SIP_PORT_SETTING}). ` +
      `Another SIP server (a PBX, a softphone, another tandem switch --sip) is probably running: stop it, or choose another port with ${SIP_PORT_SETTING}.`;
    return e;
  }
  if (err.code === 'EACCES') return new Error(`not allowed to listen on SIP port ${port} (setting: ${SIP_PORT_SETTING}): use a port above 1023 or run with the needed privilege`);
  return err;
}
