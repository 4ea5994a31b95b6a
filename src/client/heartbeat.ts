// Hung-server detection for one link: every intervalMs send a probe (a WebSocket ping in Node, a
// RequestQueryServer in the browser, which cannot send pings); when nothing at all came back for
// deadAfterMs the server is declared dead. Any inbound frame or pong counts as a sign of life, so a
// busy server streaming events is never mistaken for a hung one.

export class HeartbeatMonitor {
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastSign = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly deadAfterMs: number,
    private readonly probe: () => void,
    private readonly onDead: (silentMs: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.stop();
    this.lastSign = this.now();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
  }

  /** Something arrived from the server. */
  alive(): void {
    this.lastSign = this.now();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    const silent = this.now() - this.lastSign;
    if (silent >= this.deadAfterMs) {
      this.stop();
      this.onDead(silent);
      return;
    }
    this.probe();
  }
}
