// The web agent desktop: binds the page (index.html) to the SDK. All state comes from events
// (desk-state.ts); every button is one SDK call; errors are shown, never thrown. The SDK uses the
// application-level heartbeat here, since browsers cannot send WebSocket pings.
import { TandemClient, TandemError, type ClientStatus, type TEvent } from '../sdk/index.js';
import { applyEvent, emptyDesk, type DeskState } from './desk-state.js';
import { clientNameFor, resolveServers } from './servers.js';

const $ = <T extends HTMLElement>(sel: string): T => {
  const el = document.querySelector<T>(sel);
  if (!el) throw new Error(`page is missing ${sel}`);
  return el;
};
const byTestId = <T extends HTMLElement>(id: string): T => $<T>(`[data-testid="${id}"]`);
const inputValue = (id: string): string => byTestId<HTMLInputElement>(id).value.trim();

let client: TandemClient;
let desk: DeskState | undefined;
let selected: string | undefined;
const MAX_LOG = 200;

async function main(): Promise<void> {
  const servers = await resolveServers(location);
  client = new TandemClient({ servers, clientName: clientNameFor(location), heartbeat: 'app', heartbeatMs: 500 });
  // For tests and for poking at it from the devtools console.
  (window as unknown as { tandemDesktop: unknown }).tandemDesktop = { client, desk: () => desk };
  client.on('status', onStatus);
  client.on('event', (ev) => onEvent(ev));
  client.on('control', ({ server, event }) => onControl(server, event));
  prefill();
  bind();
  renderServers();
  document.body.dataset.ready = 'true';
}

function prefill(): void {
  const q = new URLSearchParams(location.search);
  for (const [param, id] of [['dn', 'login-dn'], ['agent', 'login-agent'], ['queue', 'login-queue']] as const) {
    const v = q.get(param);
    if (v) byTestId<HTMLInputElement>(id).value = v;
  }
}

function onStatus(s: ClientStatus): void {
  const banner = byTestId('failover-banner');
  if (s.type === 'failover-started') banner.hidden = false;
  if (s.type === 'failover-complete') banner.hidden = true;
  if (s.type === 'replay-gap' && desk) {
    // Events were lost beyond the journal: read the DN's state afresh.
    void client.register(desk.dn).then((ev) => { if (desk) applyEvent(desk, ev); renderCalls(); });
  }
  log(`status ${s.type} ${JSON.stringify({ ...s, type: undefined })}`);
  renderServers();
}

function onEvent(ev: TEvent): void {
  if (desk) applyEvent(desk, ev);
  log(`#${ev.seq} ${ev.event} ${'thisDN' in ev ? ev.thisDN ?? '' : ''} ${'connId' in ev ? ev.connId : ''}`);
  renderCalls();
}

function onControl(server: string, ev: TEvent): void {
  // A (re)registration answer is a fresh snapshot of the DN: take the primary's.
  if (ev.event === 'EventRegistered' && desk && server === client.primary) {
    applyEvent(desk, ev);
    renderCalls();
  }
  if (ev.event === 'EventLinkDisconnected' || ev.event === 'EventLinkConnected') log(`${server}: ${ev.event}`);
  if (ev.event === 'EventError' && ev.referenceId === undefined) showError(`${ev.errorCode}: ${ev.errorMessage ?? ''}`);
}

function renderServers(): void {
  const list = byTestId('server-list');
  list.replaceChildren();
  const primary = client.primary;
  let primaryName = 'none';
  for (const s of client.servers()) {
    const li = document.createElement('li');
    li.dataset.testid = 'server';
    li.dataset.url = s.url;
    li.dataset.role = s.role ?? 'unknown';
    li.className = s.url === primary ? 'primary' : s.state === 'open' ? '' : 'down';
    li.textContent = `${s.serverName || s.url} — ${s.state}${s.role ? `, ${s.role}` : ''}${s.epoch !== undefined ? `, epoch ${s.epoch}` : ''}`;
    list.append(li);
    if (s.url === primary) primaryName = s.serverName || s.url;
  }
  const label = byTestId('primary-server');
  label.textContent = primaryName;
  label.dataset.url = primary ?? '';
}

function renderCalls(): void {
  byTestId('agent-state').textContent = desk ? desk.agentState + (desk.workMode ? ` (${desk.workMode})` : '') : 'LoggedOut';
  byTestId('agent-dn').textContent = desk ? `on ${desk.dn}` : '';
  const body = $('#calls-body');
  body.replaceChildren();
  const calls = desk ? [...desk.calls.values()] : [];
  if (!selected || !desk?.calls.has(selected)) selected = calls.at(-1)?.connId;
  for (const c of calls) {
    const tr = document.createElement('tr');
    tr.dataset.testid = 'call-row';
    tr.dataset.connid = c.connId;
    tr.dataset.state = c.state;
    if (c.connId === selected) tr.className = 'selected';
    const radio = document.createElement('input');
    radio.type = 'radio';
    radio.name = 'selected-call';
    radio.checked = c.connId === selected;
    radio.dataset.testid = 'call-select';
    radio.addEventListener('change', () => { selected = c.connId; renderCalls(); });
    const data = Object.entries(c.userData).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join('; ');
    const cells: [string, string][] = [
      ['call-connid', c.connId], ['call-state', c.state], ['call-type', c.callType ?? ''], ['call-other', c.otherDN ?? ''],
      ['call-ani', c.ani ?? ''], ['call-dnis', c.dnis ?? ''], ['call-userdata', data],
    ];
    const first = document.createElement('td');
    first.append(radio);
    tr.append(first);
    for (const [id, text] of cells) {
      const td = document.createElement('td');
      td.dataset.testid = id;
      if (id === 'call-connid') td.className = 'connid';
      td.textContent = text;
      tr.append(td);
    }
    const actions = document.createElement('td');
    for (const act of ['answer', 'release', 'hold', 'retrieve'] as const) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = act[0]!.toUpperCase() + act.slice(1);
      b.dataset.testid = `call-${act}`;
      b.addEventListener('click', () => run(act, () => client[act](deskDn(), c.connId)));
      actions.append(b);
    }
    tr.append(actions);
    body.append(tr);
  }
  byTestId('selected-call').textContent = selected ? `Selected call: ${selected}` : 'No call selected';
}

function bind(): void {
  byTestId<HTMLFormElement>('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const dn = inputValue('login-dn');
    const agentId = inputValue('login-agent');
    const queue = inputValue('login-queue');
    run('login', async () => {
      if (!desk || desk.dn !== dn) {
        if (desk) await client.unregister(desk.dn);
        desk = emptyDesk(dn);
        applyEvent(desk, await client.register(dn));
        renderCalls();
      }
      return client.login(dn, agentId, queue ? { queue } : {});
    });
  });
  const actions: Record<string, () => Promise<TEvent>> = {
    ready: () => client.ready(deskDn()),
    notReady: () => {
      const workMode = byTestId<HTMLSelectElement>('notready-workmode').value as 'AuxWork' | 'AfterCallWork';
      const reason = inputValue('notready-reason');
      return client.notReady(deskDn(), workMode, reason ? { ReasonCode: reason } : undefined);
    },
    logout: () => client.logout(deskDn()),
    makeCall: () => client.makeCall(deskDn(), need(inputValue('dial-number'), 'a number to call')),
    singleStepTransfer: () => client.singleStepTransfer(deskDn(), selectedCall(), target()),
    initiateTransfer: () => { const main = selectedCall(); desk!.consult = { kind: 'transfer', main }; return client.initiateTransfer(deskDn(), main, target()); },
    completeTransfer: () => { const [main, consult] = consultPair(); return client.completeTransfer(deskDn(), main, consult); },
    initiateConference: () => { const main = selectedCall(); desk!.consult = { kind: 'conference', main }; return client.initiateConference(deskDn(), main, target()); },
    completeConference: () => { const [main, consult] = consultPair(); return client.completeConference(deskDn(), main, consult); },
    attachData: () => client.updateUserData(deskDn(), selectedCall(), { [need(inputValue('ud-key'), 'a key')]: inputValue('ud-value') }),
    deleteData: () => client.deleteUserData(deskDn(), selectedCall(), [need(inputValue('ud-key'), 'a key')]),
  };
  for (const el of Array.from(document.querySelectorAll<HTMLButtonElement>('button[data-act]'))) {
    const act = el.dataset.act!;
    el.addEventListener('click', () => { const fn = actions[act]; if (fn) run(act, fn); });
  }
}

/** Runs one user action: shows its error (with the server's code and advice) instead of throwing. */
function run(what: string, fn: () => Promise<TEvent>): void {
  showError('');
  let p: Promise<TEvent>;
  try {
    p = fn();
  } catch (err) {
    showError(`${what}: ${(err as Error).message}`);
    return;
  }
  p.then(
    (ev) => log(`${what} -> ${ev.event}`),
    (err: unknown) => showError(err instanceof TandemError ? `${what}: ${err.errorCode}: ${err.errorMessage}` : `${what}: ${String(err)}`),
  );
}

function deskDn(): string {
  if (!desk) throw new Error('log in first (DN and agent ID)');
  return desk.dn;
}

function selectedCall(): string {
  if (!selected) throw new Error('select a call first');
  return selected;
}

function target(): string {
  return need(inputValue('target-dn'), 'a target DN');
}

/** The held call and the consult call of the consultation in progress. */
function consultPair(): [string, string] {
  const c = desk?.consult;
  const main = c?.main ?? [...(desk?.calls.values() ?? [])].find((x) => x.state === 'Held')?.connId;
  const consult = c?.consult ?? [...(desk?.calls.keys() ?? [])].find((k) => k !== main);
  if (!main || !consult) throw new Error('start a consultation first (Consult transfer / Consult conference)');
  return [main, consult];
}

function need(v: string, what: string): string {
  if (!v) throw new Error(`enter ${what}`);
  return v;
}

function showError(text: string): void {
  byTestId('error').textContent = text;
}

function log(text: string): void {
  const list = byTestId('event-log');
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  list.prepend(li);
  while (list.childElementCount > MAX_LOG) list.lastElementChild?.remove();
}

main().catch((err: unknown) => showError(`cannot start: ${String(err)}`));
