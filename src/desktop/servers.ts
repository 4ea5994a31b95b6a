// Which two T-Servers the page talks to. In order:
//   1. `?servers=ws://127.0.0.1:7001/tlib,ws://127.0.0.1:7002/tlib` in the page URL;
//   2. `config.json` next to the page (`/desktop/config.json`): `{"servers": ["ws://…/tlib", "ws://…/tlib"]}`;
//   3. the server that served the page (`ws(s)://<its host>/tlib`) plus the peer it names in
//      EventServerInfo.peer.url (asked once over a short-lived probe connection).

export async function resolveServers(loc: Location): Promise<string[]> {
  const param = new URLSearchParams(loc.search).get('servers');
  if (param) return param.split(',').map((s) => s.trim()).filter(Boolean);
  const fromConfig = await fetch('config.json', { cache: 'no-store' })
    .then(async (r) => (r.ok ? ((await r.json()) as { servers?: unknown }).servers : undefined))
    .catch(() => undefined);
  if (Array.isArray(fromConfig) && fromConfig.length > 0 && fromConfig.every((s) => typeof s === 'string')) return fromConfig as string[];
  const own = `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/tlib`;
  const peer = await askPeer(own).catch(() => undefined);
  return peer && peer !== own ? [own, peer] : [own];
}

/** Opens the page's own server once to read its peer's URL from EventServerInfo. */
function askPeer(url: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => { ws.close(); reject(new Error('no answer')); }, 3000);
    ws.onopen = () => ws.send(JSON.stringify({ request: 'RequestOpen', referenceId: Date.now(), clientName: `desktop-probe-${Math.random().toString(36).slice(2, 10)}` }));
    ws.onmessage = (m) => {
      clearTimeout(timer);
      ws.close();
      const ev = JSON.parse(String(m.data)) as { peer?: { url?: string } };
      resolve(ev.peer?.url || undefined);
    };
    ws.onerror = () => { clearTimeout(timer); reject(new Error('cannot connect')); };
  });
}

/** A client name per browser tab, kept across reloads of the tab (sessionStorage). */
export function clientNameFor(loc: Location): string {
  const param = new URLSearchParams(loc.search).get('client');
  if (param) return param;
  const key = 'tandem.clientName';
  let name = sessionStorage.getItem(key);
  if (!name) {
    name = `desktop-${Math.random().toString(36).slice(2, 10)}`;
    sessionStorage.setItem(key, name);
  }
  return name;
}
