// Cuts a TCP byte stream into SIP messages (RFC 3261 §18.3: Content-Length is mandatory on streams).
// Pure. Leading CRLFs (keepalive pings, RFC 5626) are skipped. A header block over the limit or a
// message without a usable Content-Length is a framing error: the stream cannot be resynchronized,
// so the caller answers what it can and closes the connection.
import { MAX_MESSAGE_BYTES } from './message.js';

export type Frame = { ok: true; bytes: Buffer } | { ok: false; reason: string; bytes: Buffer };

const CRLF2 = Buffer.from('\r\n\r\n');

export class StreamFramer {
  private buf: Buffer = Buffer.alloc(0);
  /** Set after a framing error: everything after it is ignored. */
  private broken = false;

  push(chunk: Buffer): Frame[] {
    if (this.broken) return [];
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Frame[] = [];
    for (;;) {
      let skip = 0;
      while (skip + 1 < this.buf.length && this.buf[skip] === 13 && this.buf[skip + 1] === 10) skip += 2;
      if (skip) this.buf = this.buf.subarray(skip);
      const end = this.buf.indexOf(CRLF2);
      if (end < 0) {
        if (this.buf.length > MAX_MESSAGE_BYTES) return this.fail(out, `no end of headers within ${MAX_MESSAGE_BYTES} bytes`);
        return out;
      }
      const head = this.buf.subarray(0, end).toString('utf8');
      const m = /\r\n(?:content-length|l)[ \t]*:[ \t]*(\S*)/i.exec(head);
      if (!m) return this.fail(out, 'Content-Length is missing (mandatory over TCP)');
      if (!/^\d{1,6}$/.test(m[1]!) || Number(m[1]) + end + 4 > MAX_MESSAGE_BYTES) return this.fail(out, `bad Content-Length ${JSON.stringify(m[1])}`);
      const total = end + 4 + Number(m[1]);
      if (this.buf.length < total) return out;
      out.push({ ok: true, bytes: Buffer.from(this.buf.subarray(0, total)) });
      this.buf = this.buf.subarray(total);
    }
  }

  private fail(out: Frame[], reason: string): Frame[] {
    this.broken = true;
    out.push({ ok: false, reason, bytes: this.buf });
    this.buf = Buffer.alloc(0);
    return out;
  }
}
