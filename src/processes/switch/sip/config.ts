// The SIP switch's settings: the `switch.sip` section of the config file, then --sip* flags.
// Every key is optional; the defaults run a loopback lab (trunk peers and phones on 127.0.0.1, no
// passwords). Validated at start: a bad value stops the process with a message naming the setting.

export interface TrunkPeer {
  /** For logs and docs. */
  name: string;
  /** Source address INVITEs from this peer come from (exact match). */
  host: string;
  /** Source port; 0 = any port of that host. */
  port: number;
}

export interface OutboundTrunk {
  /** Where calls to external numbers go; port 0 = no outbound trunk (such calls are cleared). */
  host: string;
  port: number;
  protocol: 'UDP' | 'TCP';
  /** Strip the dial plan's trunk prefix before sending (94155550100 -> 4155550100). */
  stripPrefix: boolean;
}

export interface SipConfig {
  /** SIP listens on UDP and TCP, both on this port (0 = a free port, reported in the ready line). */
  port: number;
  /** Listen address; "" = the switch's host. */
  host: string;
  /** The address written in our Via and Contact headers; "" = the listen address. */
  advertisedHost: string;
  /** Peers whose INVITEs are inbound trunk calls. Anyone else sending a new INVITE gets 403. */
  trunkPeers: TrunkPeer[];
  outboundTrunk: OutboundTrunk;
  /** Digest passwords per extension: a DN listed here must authenticate its REGISTER. */
  credentials: Record<string, string>;
  realm: string;
  /** REGISTER Expires bounds (s): a shorter non-zero expiry is answered 423 with Min-Expires. */
  minExpires: number;
  maxExpires: number;
  /** Dispatch step 3: a header whose value names the DN (e.g. "X-Tandem-DN"); "" = off. */
  routingHeader: string;
  /** Dispatch step 4: where a trunk call goes when its Request-URI and To name no DN; "" = reject 404. */
  defaultRoutingDn: string;
}

export const DEFAULT_SIP_CONFIG: SipConfig = {
  port: 5060,
  host: '',
  advertisedHost: '',
  trunkPeers: [{ name: 'loopback', host: '127.0.0.1', port: 0 }],
  outboundTrunk: { host: '127.0.0.1', port: 0, protocol: 'UDP', stripPrefix: true },
  credentials: {},
  realm: 'tandem',
  minExpires: 1,
  maxExpires: 3600,
  routingHeader: '',
  defaultRoutingDn: '',
};

export const SIP_CONFIG_HELP = `  "sip": {"port": 5060, "host": "", "advertisedHost": "",
           "trunkPeers": [{"name": "carrier", "host": "192.0.2.10", "port": 0}],
           "outboundTrunk": {"host": "192.0.2.10", "port": 5060, "protocol": "UDP", "stripPrefix": true},
           "credentials": {"5001": "secret"}, "realm": "tandem", "minExpires": 1, "maxExpires": 3600,
           "routingHeader": "X-Tandem-DN", "defaultRoutingDn": "8000"}`;

type Json = Record<string, unknown>;

function str(v: unknown, setting: string): string {
  if (typeof v !== 'string') throw new Error(`${setting} must be a string, got ${JSON.stringify(v)}`);
  return v;
}
function int(v: unknown, setting: string, min: number, max = 65535 * 1000): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new Error(`${setting} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return v;
}
function obj(v: unknown, setting: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${setting} must be an object`);
  return v as Json;
}

/** The `switch.sip` section over the defaults. Throws naming the bad setting. */
export function sipConfigFromJson(v: unknown): SipConfig {
  const cfg: SipConfig = structuredClone(DEFAULT_SIP_CONFIG);
  if (v === undefined) return cfg;
  const s = obj(v, 'switch.sip');
  if (s.port !== undefined) cfg.port = int(s.port, 'switch.sip.port', 0, 65535);
  if (s.host !== undefined) cfg.host = str(s.host, 'switch.sip.host');
  if (s.advertisedHost !== undefined) cfg.advertisedHost = str(s.advertisedHost, 'switch.sip.advertisedHost');
  if (s.trunkPeers !== undefined) {
    if (!Array.isArray(s.trunkPeers)) throw new Error('switch.sip.trunkPeers must be an array of {"name", "host", "port"}');
    cfg.trunkPeers = s.trunkPeers.map((p, i) => {
      const o = obj(p, `switch.sip.trunkPeers[${i}]`);
      return { name: o.name === undefined ? `trunk${i}` : str(o.name, `switch.sip.trunkPeers[${i}].name`), host: str(o.host, `switch.sip.trunkPeers[${i}].host`), port: o.port === undefined ? 0 : int(o.port, `switch.sip.trunkPeers[${i}].port`, 0, 65535) };
    });
  }
  if (s.outboundTrunk !== undefined) {
    const o = obj(s.outboundTrunk, 'switch.sip.outboundTrunk');
    if (o.host !== undefined) cfg.outboundTrunk.host = str(o.host, 'switch.sip.outboundTrunk.host');
    if (o.port !== undefined) cfg.outboundTrunk.port = int(o.port, 'switch.sip.outboundTrunk.port', 0, 65535);
    if (o.protocol !== undefined) {
      const p = str(o.protocol, 'switch.sip.outboundTrunk.protocol').toUpperCase();
      if (p !== 'UDP' && p !== 'TCP') throw new Error('switch.sip.outboundTrunk.protocol must be "UDP" or "TCP"');
      cfg.outboundTrunk.protocol = p;
    }
    if (o.stripPrefix !== undefined) {
      if (typeof o.stripPrefix !== 'boolean') throw new Error('switch.sip.outboundTrunk.stripPrefix must be true or false');
      cfg.outboundTrunk.stripPrefix = o.stripPrefix;
    }
  }
  if (s.credentials !== undefined) {
    for (const [dn, pw] of Object.entries(obj(s.credentials, 'switch.sip.credentials'))) cfg.credentials[dn] = str(pw, `switch.sip.credentials.${dn}`);
  }
  if (s.realm !== undefined) cfg.realm = str(s.realm, 'switch.sip.realm');
  if (s.minExpires !== undefined) cfg.minExpires = int(s.minExpires, 'switch.sip.minExpires', 1);
  if (s.maxExpires !== undefined) cfg.maxExpires = int(s.maxExpires, 'switch.sip.maxExpires', 1);
  if (cfg.minExpires > cfg.maxExpires) throw new Error(`switch.sip.minExpires (${cfg.minExpires}) must not exceed switch.sip.maxExpires (${cfg.maxExpires})`);
  if (s.routingHeader !== undefined) cfg.routingHeader = str(s.routingHeader, 'switch.sip.routingHeader').toLowerCase();
  if (s.defaultRoutingDn !== undefined) cfg.defaultRoutingDn = str(s.defaultRoutingDn, 'switch.sip.defaultRoutingDn');
  return cfg;
}

/** "host:port" of --sip-trunk: the outbound trunk, also accepted as a trunk peer. */
export function parseTrunkFlag(v: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535) throw new Error(`--sip-trunk must be host:port (e.g. 127.0.0.1:5070), got "${v}"`);
  return { host: m[1]!, port: Number(m[2]) };
}
