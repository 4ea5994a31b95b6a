// The chaos drill's loss checker: pure functions over what the desktops saw, the surviving
// primary's state (/debug/state: calls, agents, journal) and the switch (snapshot, accepted-command
// log). Run on a quiesced system: no calls offered, the last calls drained, the backup in sync.

/** Events lost / duplicated / unexpected per desktop, against the primary's journal for its DN. */
export function checkDesktopEvents(desks, journal) {
  const oldest = journal.length ? journal[0].seq : Infinity;
  const byDn = new Map();
  for (const e of journal) {
    let m = byDn.get(e.dn);
    if (!m) byDn.set(e.dn, (m = new Map()));
    m.set(e.seq, e.event.event);
  }
  const per = [];
  for (const d of desks) {
    const expected = byDn.get(d.dn) ?? new Map();
    const seen = new Map();
    let duplicated = 0, unexpected = 0, mismatched = 0;
    for (const [seq, name] of d.events) {
      if (seen.has(seq)) { duplicated++; continue; }
      seen.set(seq, name);
      if (seq < oldest) continue; // trimmed from the journal: cannot judge
      const want = expected.get(seq);
      if (want === undefined) unexpected++;
      else if (want !== name) mismatched++;
    }
    let lost = 0;
    for (const [seq] of expected) if (seq > d.baselineSeq && !seen.has(seq)) lost++;
    per.push({ name: d.name, lost, duplicated, unexpected: unexpected + mismatched });
  }
  const sum = (k) => per.reduce((a, p) => a + p[k], 0);
  return { lost: sum('lost'), duplicated: sum('duplicated'), unexpected: sum('unexpected'), worst: per.filter((p) => p.lost || p.duplicated || p.unexpected).slice(0, 5) };
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

/** Requests answered twice in the journal (one clientName#referenceId as two direct answers). */
export function checkAnswers(journal) {
  const seen = new Set();
  let twice = 0;
  const examples = [];
  for (const e of journal) {
    if (!e.answer) continue;
    const k = `${e.answer.clientName}#${e.answer.referenceId}`;
    if (seen.has(k)) { twice++; if (examples.length < 5) examples.push(`${k} again at seq ${e.seq} (${e.event.event})`); }
    seen.add(k);
  }
  return { answeredTwice: twice, examples };
}
