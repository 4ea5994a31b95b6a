// The chaos drill's loss checker: pure functions over what the desktops saw, the surviving
// primary's state (/debug/state: calls, agents, journal) and the switch (snapshot, accepted-command
// log). Run on a quiesced system: no calls offered, the last calls drained, the backup in sync.

/**
 * Events lost / duplicated / unexpected per desktop, judged one cycle at a time against the journal
 * the drill collected (chaos-journal.mjs: the servers keep only their bounded journal). Keeps, per
 * desktop, how far it has read the desktop's events and which seqs it saw (pruned to the last two
 * cycles, so a late duplicate of the previous cycle still counts).
 */
export class EventAudit {
  constructor() { this.per = new Map(); }

  /**
   * @param desks desktops ({dn, name, events: [seq, name, connId][], baselineSeq}), events appended in arrival order
   * @param journal the journal entries of this cycle ({seq, dn, event}) — seq > fromSeq
   * @param window fromSeq: the previous check's last seq; judgeable(seq): the drill holds the journal entry for seq
   */
  check(desks, journal, { fromSeq = 0, judgeable = () => true } = {}) {
    const byDn = new Map();
    for (const e of journal) {
      if (e.seq <= fromSeq) continue;
      let m = byDn.get(e.dn);
      if (!m) byDn.set(e.dn, (m = new Map()));
      m.set(e.seq, e.event.event);
    }
    const per = [];
    for (const d of desks) {
      let a = this.per.get(d.name);
      if (!a) this.per.set(d.name, (a = { read: 0, seen: new Map(), prevFrom: 0 }));
      const expected = byDn.get(d.dn) ?? new Map();
      let duplicated = 0, unexpected = 0, mismatched = 0;
      for (let i = a.read; i < d.events.length; i++) {
        const [seq, name] = d.events[i];
        if (a.seen.has(seq)) { duplicated++; continue; }
        a.seen.set(seq, name);
        if (seq <= fromSeq || !judgeable(seq)) continue; // an earlier cycle's, or not collected: cannot judge
        const want = expected.get(seq);
        if (want === undefined) unexpected++;
        else if (want !== name) mismatched++;
      }
      a.read = d.events.length;
      let lost = 0;
      for (const [seq] of expected) if (seq > d.baselineSeq && !a.seen.has(seq)) lost++;
      for (const seq of a.seen.keys()) if (seq <= a.prevFrom) a.seen.delete(seq);
      a.prevFrom = fromSeq;
      per.push({ name: d.name, lost, duplicated, unexpected: unexpected + mismatched });
    }
    const sum = (k) => per.reduce((x, p) => x + p[k], 0);
    return { lost: sum('lost'), duplicated: sum('duplicated'), unexpected: sum('unexpected'), worst: per.filter((p) => p.lost || p.duplicated || p.unexpected).slice(0, 5) };
  }

  /** The servers' state started over (a fresh state: seqs begin again): forget the seqs seen. */
  reset() { for (const a of this.per.values()) { a.seen.clear(); a.prevFrom = 0; } }
}

/** One-shot form of EventAudit.check over a whole journal (entries older than the journal's first are not judged). */
export function checkDesktopEvents(desks, journal) {
  const oldest = journal.length ? journal[0].seq : Infinity;
  return new EventAudit().check(desks, journal, { judgeable: (seq) => seq >= oldest });
}

/** Calls the switch has that the primary does not know (lost), the reverse (ghosts), and calls left after the drain (stuck). */
export function checkCalls(snapshot, state) {
  const primaryBySwitch = new Set(Object.values(state.calls ?? {}).map((c) => c.switchCallId));
  const switchIds = new Set((snapshot.calls ?? []).map((c) => c.callId));
  let lost = 0, ghosts = 0;
  for (const id of switchIds) if (!primaryBySwitch.has(id)) lost++;
  for (const id of primaryBySwitch) if (!switchIds.has(id)) ghosts++;
  const stuckCalls = (snapshot.calls ?? []).slice(0, 3).map((c) => `${c.callId} ${c.parties.map((p) => `${p.dn}:${p.state}`).join(',')}`);
  return { lost, ghosts, stuck: switchIds.size, stuckCalls };
}

/** Agents whose state on the primary is not what the desktop last asked for (all Ready when quiesced). */
export function checkAgents(desks, state) {
  let lost = 0;
  const wrong = [];
  for (const d of desks) {
    const a = state.agents?.[d.dn];
    const want = d.wantReady ? 'Ready' : 'NotReady';
    if (!a || a.state !== want) { lost++; if (wrong.length < 5) wrong.push(`${d.dn}: ${a ? a.state : 'not logged in'} (want ${want})`); }
  }
  return { lost, wrong };
}

/**
 * From the switch's accepted-command log (accept order): commands accepted twice under one id
 * (executed twice), and split-brain — a command of epoch e accepted after the first command of a
 * higher epoch (two servers commanding in overlapping windows). `fromIndex` skips earlier cycles.
 */
export function checkCommands(commands, fromIndex = 0) {
  const ids = new Map();
  let twice = 0, splitCommands = 0, maxEpoch = 0;
  const examples = [];
  const windows = new Set();
  commands.forEach((c, i) => {
    const n = (ids.get(c.commandId) ?? 0) + 1;
    ids.set(c.commandId, n);
    const epoch = Number(c.epoch);
    if (i >= fromIndex) {
      if (n === 2) { twice++; if (examples.length < 5) examples.push(`twice ${c.commandId}`); }
      if (epoch < maxEpoch) { splitCommands++; windows.add(`${epoch}<${maxEpoch}`); if (examples.length < 5) examples.push(`epoch ${epoch} after ${maxEpoch}: ${c.commandId}`); }
    }
    maxEpoch = Math.max(maxEpoch, epoch);
  });
  return { executedTwice: twice, splitBrainCommands: splitCommands, splitBrainWindows: windows.size, examples };
}

/**
 * Requests answered twice (one clientName#referenceId as two direct answers), across checks: keeps
 * each answer's key with its seq, forgetting keys more than `keepSeqs` older than the newest (the
 * servers' de-dup window is bounded too).
 */
export class AnswerAudit {
  constructor(keepSeqs = 200_000) { this.keepSeqs = keepSeqs; this.seen = new Map(); }

  check(journal) {
    let twice = 0, newest = 0;
    const examples = [];
    for (const e of journal) {
      newest = Math.max(newest, e.seq);
      if (!e.answer) continue;
      const k = `${e.answer.clientName}#${e.answer.referenceId}`;
      const at = this.seen.get(k);
      if (at !== undefined && at !== e.seq) { twice++; if (examples.length < 5) examples.push(`${k} again at seq ${e.seq} (${e.event.event})`); }
      this.seen.set(k, e.seq);
    }
    for (const [k, seq] of this.seen) if (seq < newest - this.keepSeqs) this.seen.delete(k);
    return { answeredTwice: twice, examples };
  }

  /** The state started over: seqs begin again. */
  reset() { this.seen.clear(); }
}

/** One-shot form of AnswerAudit.check over a whole journal. */
export function checkAnswers(journal) {
  return new AnswerAudit(Infinity).check(journal);
}
