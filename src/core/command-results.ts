// The switch's CommandResult for a command this core sent. For a client request still pending (no
// event answered it yet): EventACK, the stored first answer (duplicate after a failover), or EventError.
import type { sw } from '../wire/switch-proto.js';
import type { CoreState, ErrorCode, JournalEntry } from './api.js';
import type { TEvent } from '../protocol/messages.js';
import { offerRefused } from './acd.js';
import type { Tx } from './tx.js';

/** Refusals that say nothing about the request itself (wrong server, no switch): not remembered, so a retry with the same referenceId runs. */
const NOT_MINE = new Set(['NotLeaseHolder', 'StaleEpoch', 'SwitchUnavailable']);

export function onCommandResult(tx: Tx, r: sw.ICommandResult): void {
  const id = r.commandId ?? '';
  const p = tx.state.pending.get(id);
  if (!p) {
    if (!r.ok && id.startsWith('auto:')) offerRefused(tx, id);
    return; // answered already by an event, expired, or a core-issued command that worked
  }
  tx.del('pending', id);
  if (tx.state.dedup.has(id)) return; // an event answered it (the de-dup key is the command id)
  if (r.ok) {
    const first = r.duplicate ? firstEntryOf(tx.state, id, p.thisDN) : undefined;
    const answer: TEvent = first ? { ...first.event, referenceId: p.referenceId } : { event: 'EventACK', referenceId: p.referenceId, thisDN: p.thisDN };
    tx.rememberAnswer(p.clientName, p.referenceId, tx.reply(p.clientName, answer), p.fp);
    return;
  }
  const code = r.errorCode ?? '';
  const err: TEvent = { event: 'EventError', referenceId: p.referenceId, errorCode: errorCodeOf(code), errorMessage: r.errorMessage || `the switch refused the command (${code})` };
  const sent = tx.reply(p.clientName, err);
  if (!NOT_MINE.has(code)) tx.rememberAnswer(p.clientName, p.referenceId, sent, p.fp);
}

/** The first journalled event the command caused on the requester's DN (an index lookup). */
export function firstEntryOf(state: CoreState, commandId: string, dn: string): JournalEntry | undefined {
  return state.journalByCommand.get(commandId)?.find((e) => e.dn === dn);
}

function errorCodeOf(switchCode: string): ErrorCode {
  switch (switchCode) {
    case 'UnknownDN':
      return 'InvalidDN';
    case 'UnknownCall':
      return 'InvalidConnID';
    case 'InvalidState':
      return 'InvalidState';
    case 'NotLeaseHolder':
    case 'StaleEpoch':
      return 'NotPrimary';
    case 'SwitchUnavailable':
      return 'SwitchUnavailable';
    default:
      return 'BadRequest';
  }
}
