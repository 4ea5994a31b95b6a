// Debian's baresip (apt baresip-core 1.0.0) as a real softphone for the SIP switch's end-to-end test,
// headless: its own config dir (`baresip -f <dir>`), one account registered at the switch, no sound
// card (ALSA's `null` PCM for playback, alert and capture; the `ausine` tone source runs at 48 kHz only
// and fails a PCMU call with 486), manual answer, and the ctrl_tcp module on a loopback port: JSON in
// netstrings, commands in (`accept`, `hangup`) and every UA event out (CALL_INCOMING, CALL_ESTABLISHED, CALL_CLOSED…). Killed at teardown.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

interface Teardown { teardown(fn: () => unknown): void }

export const BARESIP = process.env.BARESIP_BIN ?? 'baresip';

/** A ctrl_tcp event: `{event: true, class, type, accountaor, peeruri, id, param…}`. */
export interface BaresipEvent { event: true; class: string; type: string; id?: string; peeruri?: string; param?: string; [k: string]: unknown }

export interface Baresip {
  child: ChildProcess;
  /** Every event received so far, in order (from the ctrl_tcp connection on: the first REGISTER_OK comes before it). */
  events: BaresipEvent[];
  /** Resolves with the first event (already received or to come) that matches. */
  waitEvent(pred: (e: BaresipEvent) => boolean, timeoutMs: number, what: string): Promise<BaresipEvent>;
  /** Runs a long command (as typed after `/` in baresip's menu); resolves with its response. */
  command(command: string, params?: string): Promise<{ ok: boolean; data: string }>;
  /** stdout/stderr tail, for failure messages. */
  output(): string;
}

function bindable(port: number): Promise<boolean> {
  const srv = createServer();
  return new Promise((resolve) => {
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** Netstring frames (`<len>:<payload>,`) out of a TCP byte stream. */
export function netstrings(onFrame: (payload: string) => void): (chunk: Buffer) => void {
  let buf = Buffer.alloc(0);
  return (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const colon = buf.indexOf(0x3a);
      if (colon < 0) return;
      const len = Number(buf.subarray(0, colon).toString());
      if (!Number.isInteger(len) || buf.length < colon + 1 + len + 1) return;
      onFrame(buf.subarray(colon + 1, colon + 1 + len).toString());
      buf = buf.subarray(colon + 1 + len + 1);
    }
  };
}

export async function startBaresip(t: Teardown, o: { registrar: string; dn: string }): Promise<Baresip> {
  // baresip 1.0.0 listens for SIP on UDP and TCP at sip_listen's port and for SIP over TLS on the next
  // one (it has no setting to leave TLS out), so that one must be free too, and not be ctrl_tcp's.
  let sipPort = 0;
  for (let i = 0; i < 50 && !sipPort; i++) {
    const p = await freePort();
    if (await bindable(p + 1)) sipPort = p;
  }
  if (!sipPort) throw new Error('no port P with P+1 free for baresip (SIP on P, SIP/TLS on P+1)');
  let ctrlPort = await freePort();
  while (ctrlPort === sipPort + 1) ctrlPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'tandem-baresip-'));
  writeFileSync(join(dir, 'config'), [
    'poll_method epoll',
    `sip_listen 127.0.0.1:${sipPort}`,
    'audio_player alsa,null',
    'audio_alert alsa,null',
    'audio_source alsa,null',
    'module_path /usr/lib/baresip/modules',
    'module g711.so',
    'module alsa.so',
    'module_app account.so',
    'module_app menu.so',
    'module_app ctrl_tcp.so',
    `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
    '',
  ].join('\n'));
  writeFileSync(join(dir, 'accounts'), `<sip:${o.dn}@${o.registrar}>;regint=600;answermode=manual\n`);
  // `-f` reads config and accounts from dir; stdin is not a terminal (baresip reads menu keys from it).
  const child = spawn(BARESIP, ['-f', dir], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => { out = (out + d.toString()).slice(-8000); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    child.on('error', (err) => { out += `\nspawn ${BARESIP}: ${err.message} (install Debian's baresip-core: apt-get install baresip-core)`; resolve(); });
    child.on('exit', () => resolve());
  });
  t.teardown(async () => {
    sock?.destroy();
    if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited; }
  });
  const output = () => `baresip -f ${dir}\n${out}`;

  // ctrl_tcp listens once the module loaded: connect, retrying while baresip starts.
  let sock: Socket | undefined;
  for (const end = Date.now() + 10_000; !sock;) {
    if (child.exitCode !== null) throw new Error(`baresip exited ${child.exitCode} at start:\n${output()}`);
    sock = await new Promise<Socket | undefined>((resolve) => {
      const s = connect(ctrlPort, '127.0.0.1');
      s.once('connect', () => resolve(s));
      s.once('error', () => { s.destroy(); resolve(undefined); });
    });
    if (!sock) {
      if (Date.now() > end) throw new Error(`baresip's ctrl_tcp never listened on ${ctrlPort}:\n${output()}`);
      await new Promise((r) => setTimeout(r, 100)); // paces the connect retries only
    }
  }
  const events: BaresipEvent[] = [];
  const waiters = new Set<{ pred: (e: BaresipEvent) => boolean; resolve: (e: BaresipEvent) => void }>();
  const answers = new Map<string, (r: { ok: boolean; data: string }) => void>();
  sock.on('data', netstrings((payload) => {
    const m = JSON.parse(payload) as Record<string, unknown>;
    if (m.event === true) {
      const e = m as BaresipEvent;
      events.push(e);
      for (const w of waiters) if (w.pred(e)) { waiters.delete(w); w.resolve(e); }
    } else if (m.response === true) {
      answers.get(String(m.token))?.({ ok: m.ok === true, data: String(m.data ?? '') });
      answers.delete(String(m.token));
    }
  }));
  let token = 0;
  const conn = sock;
  return {
    child, events, output,
    waitEvent(pred, timeoutMs, what) {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve: (e: BaresipEvent) => { clearTimeout(timer); resolve(e); } };
        const timer = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`baresip: no ${what} within ${timeoutMs} ms; events: ${events.map((e) => e.type).join(', ')}\n${output()}`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    command(command, params = '') {
      const tok = String(++token);
      const body = JSON.stringify({ command, params, token: tok });
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { answers.delete(tok); reject(new Error(`baresip: no answer to ${command}\n${output()}`)); }, 5_000);
        answers.set(tok, (r) => { clearTimeout(timer); resolve(r); });
        conn.write(`${Buffer.byteLength(body)}:${body},`);
      });
    },
  };
}
