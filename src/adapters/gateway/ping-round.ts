// WebSocket pings to every desktop, a tenth of the connections every tenth of the interval: each is
// still pinged once per interval, and 5,000 desktops are not 5,000 socket writes in one turn. A
// desktop that missed one pong is cut (it is presumed dead; its SDK reconnects if it is not).
import { CLOSE, type Session } from './session.js';

export class PingRound {
  private readonly timer: NodeJS.Timeout | undefined;
  /** The sessions of the current round (taken at its first tick). */
  private round: Session[] = [];
  /** The tick of the round, 0..9. */
  private tick = 0;

  constructor(private readonly sessions: () => Iterable<Session>, private readonly intervalMs: number) {
    if (intervalMs > 0) this.timer = setInterval(() => this.ping(Date.now()), Math.max(1, Math.floor(intervalMs / 10))).unref();
  }

  stop(): void { clearInterval(this.timer); }

  private ping(now: number): void {
    if (this.tick === 0) this.round = [...this.sessions()];
    const n = this.round.length;
    const from = Math.floor((this.tick * n) / 10), to = Math.floor(((this.tick + 1) * n) / 10);
    this.tick = (this.tick + 1) % 10;
    for (let i = from; i < to; i++) {
      const s = this.round[i]!;
      if (s.closing) continue;
      // One that moved up in the round (others closed) is not judged less than half an interval after its ping.
      if (now - s.pingedAt < this.intervalMs / 2) continue;
      if (!s.alive) {
        s.close(CLOSE.noPong, 'no pong: connection presumed dead');
        continue;
      }
      s.alive = false;
      s.pingedAt = now;
      try { s.ws.ping(); } catch { /* closing */ }
    }
  }
}
