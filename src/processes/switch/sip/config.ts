// The SIP switch's settings: the `switch.sip` section of the config file, then --sip* flags.
// Every key is optional; the defaults run a loopback lab (trunk peers and phones on 127.0.0.1, no
// passwords). Typed once by SipSection below (part of the switch section's schema, processes/switch/
// config.ts): a bad value stops the process with a message naming the setting.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { checkSettings, closed, ConfigError, flag, names, port, text, uint } from '../../../lib/config-check.js';

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

/** `switch.sip` (docs/sip.md "Settings"): a new SIP setting fails to compile until it is described here. */
export const SipSection = Type.Object({
  port: port('SIP port, UDP and TCP (0 = any free port). Default 5060.'),
  host: text('Listen address; "" = the switch\'s host.'),
  advertisedHost: text('The address in our Via and Contact headers; "" = the listen address.'),
  trunkPeers: Type.Optional(Type.Array(Type.Object({
    name: text('For logs. Default trunk<index>.'),
    host: Type.String({ description: 'Source address of its INVITEs (exact match).' }),
    port: port('Source port; 0 = any port of that host.'),
  } satisfies Record<keyof TrunkPeer, TSchema>, closed), { description: 'Peers whose INVITEs are inbound trunk calls; anyone else gets 403.', expect: 'an array of {"name", "host", "port"}' })),
  outboundTrunk: Type.Optional(Type.Object({
    host: text('Where calls to external numbers go.'),
    port: port('Its port; 0 = no outbound trunk (such calls are cleared).'),
    protocol: names(['UDP', 'TCP', 'udp', 'tcp'] as const, 'Transport towards the trunk. Default "UDP".'),
    stripPrefix: flag('Strip the dial plan\'s trunk prefix before sending. Default true.'),
  } satisfies Record<keyof OutboundTrunk, TSchema>, closed)),
  credentials: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Digest password per extension: a DN listed must authenticate its REGISTER.', expect: 'an object {"<dn>": "<password>"}' })),
  realm: text('Digest realm. Default "tandem".'),
  minExpires: uint('Shortest non-zero REGISTER expiry (s); shorter is answered 423. Default 1.', 1),
  maxExpires: uint('Longest REGISTER expiry (s). Default 3600.', 1),
  routingHeader: text('A header naming the DN of a trunk call (e.g. "X-Tandem-DN"); "" = off.'),
  defaultRoutingDn: text('Where a trunk call goes when nothing names a DN; "" = reject 404.'),
} satisfies Record<keyof SipConfig, TSchema>, { ...closed, description: 'The SIP switch (tandem switch --sip, docs/sip.md).' });

export type SipSettings = Static<typeof SipSection>;

/** The SIP settings over the defaults: a checked `switch.sip` section. */
export function sipConfigOf(s: SipSettings | undefined): SipConfig {
  const d = structuredClone(DEFAULT_SIP_CONFIG);
  if (!s) return d;
  const trunk = s.outboundTrunk ?? {};
  return {
    ...d,
    ...s,
    trunkPeers: s.trunkPeers?.map((p, i) => ({ name: p.name ?? `trunk${i}`, host: p.host, port: p.port ?? 0 })) ?? d.trunkPeers,
    outboundTrunk: { ...d.outboundTrunk, ...trunk, protocol: trunk.protocol ? (trunk.protocol.toUpperCase() as OutboundTrunk['protocol']) : d.outboundTrunk.protocol },
    credentials: { ...s.credentials },
    // SIP header names are case-insensitive: kept lower-case, as the parser stores them.
    routingHeader: (s.routingHeader ?? d.routingHeader).toLowerCase(),
  };
}

/** A `switch.sip` section alone, checked by its schema, over the defaults (tests; the switch reads it as part of `switch`). */
export function sipConfigFromJson(v: unknown): SipConfig {
  const cfg = sipConfigOf(checkSettings(SipSection, v ?? {}, 'switch.sip'));
  checkSipRelations(cfg);
  return cfg;
}

/** What the schema cannot say: relations between SIP settings. */
export function checkSipRelations(cfg: SipConfig): void {
  if (cfg.minExpires > cfg.maxExpires) {
    throw new ConfigError(`switch.sip.minExpires (${cfg.minExpires}) must not exceed switch.sip.maxExpires (${cfg.maxExpires}): lower minExpires or raise maxExpires`);
  }
}

/** "host:port" of --sip-trunk: the outbound trunk, also accepted as a trunk peer. */
export function parseTrunkFlag(v: string): { host: string; port: number } {
  const m = /^(.+):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535) throw new Error(`--sip-trunk must be host:port (e.g. 127.0.0.1:5070), got "${v}"`);
  return { host: m[1]!, port: Number(m[2]) };
}
