// The core's single entry point: one input in, the deltas it made and the events, replies and switch
// commands it caused out. Pure apart from mutating `state` through applyDelta. All or nothing: an
// input that throws (a core bug: refusals are answers, not exceptions) leaves the state as it was and
// outputs nothing; the caller gets a CoreBugError naming the input.
import type { CoreContext, CoreInput, CoreOutput, CoreState } from './api.js';
import { onCommandResult } from './command-results.js';
import { CoreBugError } from './errors.js';
import { onTick, trim } from './housekeeping.js';
import { onRequest } from './requests.js';
import { onSwitchSnapshot } from './snapshot-sync.js';
import { onSwitchEvents } from './switch-events.js';
import { Tx } from './tx.js';

export function handle(state: CoreState, input: CoreInput, ctx: CoreContext): CoreOutput {
  const tx = new Tx(state, ctx);
  try {
    run(tx, input);
    trim(tx);
    return tx.finish();
  } catch (err) {
    const undone = tx.rollback();
    throw new CoreBugError(input, undone, err);
  }
}

function run(tx: Tx, input: CoreInput): void {
  switch (input.kind) {
    case 'request':
      onRequest(tx, input.clientName, input.request);
      break;
    case 'switchEvents':
      onSwitchEvents(tx, input.events);
      break;
    case 'commandResult':
      onCommandResult(tx, input.result);
      break;
    case 'switchSnapshot':
      onSwitchSnapshot(tx, input.snapshot);
      break;
    case 'tick':
      onTick(tx);
      break;
    default: {
      const never: never = input;
      throw new Error(`unknown core input ${JSON.stringify(never)}`);
    }
  }
}
