// The config file's `switch` section (SIP included), checked against its schema when read: a bad
// value, an unknown key or a value out of range stops the start with a ConfigError naming the
// setting and what it must be; relations between settings are checked after the flags.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromJson, DEFAULT_SWITCH_CONFIG, loadConfigFile, validateConfig } from '../../src/processes/switch/config.js';
import { DEFAULT_SIP_CONFIG } from '../../src/processes/switch/sip/config.js';
import { ConfigError } from '../../src/lib/config-check.js';
import { readConfigFile } from '../../src/processes/tserver/config.js';

t.test('bad switch sections: each names the setting and what it must be', async (t) => {
  const cases: [unknown, RegExp][] = [
    [{ switch: 5 }, /^switch must be an object, got 5$/],
    [{ switch: { port: 'x' } }, /^switch\.port must be an integer 0\.\.65535, got "x"$/],
    [{ switch: { port: 70000 } }, /^switch\.port must be an integer 0\.\.65535, got 70000$/],
    [{ switch: { leaseMs: 0 } }, /^switch\.leaseMs must be an integer >= 1, got 0$/],
    [{ switch: { leaseMS: 400 } }, /^switch\.leaseMS is not a setting: use one of name, host, port, .*leaseMs.* \(docs\/config\.md\)$/],
    [{ switch: { tls: { cert: 'a' } } }, /^switch\.tls\.key is required: a string$/],
    [{ switch: { autoAnswer: { 5001: { answerAfter: 5 } } } }, /^switch\.autoAnswer\.5001\.answerAfter is not a setting: use one of answerAfterMs, talkMs/],
    [{ switch: { autoAnswer: { 5001: { talkMs: -1 } } } }, /^switch\.autoAnswer\.5001\.talkMs must be a non-negative integer, got -1$/],
    [{ switch: { dialPlan: { queues: 'x' } } }, /^switch\.dialPlan\.queues must be an array of DNs or ranges like \["5000-5999", "6001"\], got "x"$/],
    [{ switch: { dialPlan: { externalMinDigits: 0 } } }, /^switch\.dialPlan\.externalMinDigits must be an integer >= 1, got 0$/],
    [{ switch: { sip: { port: 70000 } } }, /^switch\.sip\.port must be an integer 0\.\.65535, got 70000$/],
    [{ switch: { sip: { trunkPeers: [{ port: 1 }] } } }, /^switch\.sip\.trunkPeers\.0\.host is required: a string$/],
    [{ switch: { sip: { outboundTrunk: { protocol: 'SCTP' } } } }, /^switch\.sip\.outboundTrunk\.protocol must be one of "UDP", "TCP", "udp", "tcp", got "SCTP"$/],
    [{ switch: { sip: { credentials: { 5001: 1 } } } }, /^switch\.sip\.credentials\.5001 must be a string, got 1$/],
    [{ switch: { sip: { realms: 'x' } } }, /^switch\.sip\.realms is not a setting: use one of port, host, /],
  ];
  for (const [content, message] of cases) {
    const err = t.throws(() => configFromJson(content as Record<string, unknown>), JSON.stringify(content)) as Error;
    t.ok(err instanceof ConfigError, 'a ConfigError (the CLI prints it and exits 1)');
    t.match(err.message, message);
  }
});

t.test('a good section: complete settings over the defaults', async (t) => {
  const cfg = configFromJson({ switch: {
    port: 0, leaseMs: 200, tls: { cert: 'c', key: 'k' },
    sip: { trunkPeers: [{ host: '192.0.2.10' }], outboundTrunk: { port: 5070, protocol: 'tcp' }, routingHeader: 'X-Tandem-DN', credentials: { 5001: 'pw' } },
  } });
  t.equal(cfg.port, 0);
  t.equal(cfg.leaseMs, 200);
  t.equal(cfg.heartbeatMs, DEFAULT_SWITCH_CONFIG.heartbeatMs, 'unset keys keep their defaults');
  t.same(cfg.tls, { cert: 'c', key: 'k' });
  t.same(cfg.dialPlan, DEFAULT_SWITCH_CONFIG.dialPlan);
  t.same(cfg.sip.trunkPeers, [{ name: 'trunk0', host: '192.0.2.10', port: 0 }], 'a trunk peer without name or port');
  t.same(cfg.sip.outboundTrunk, { host: '127.0.0.1', port: 5070, protocol: 'TCP', stripPrefix: true }, 'protocol in either case, kept upper-case');
  t.equal(cfg.sip.routingHeader, 'x-tandem-dn', 'header names compare case-insensitively');
  t.same(cfg.sip.credentials, { 5001: 'pw' });
  t.equal(cfg.sip.realm, DEFAULT_SIP_CONFIG.realm);
  t.same(configFromJson({}), DEFAULT_SWITCH_CONFIG, 'an empty file: every default');
  t.same(DEFAULT_SWITCH_CONFIG.sip.credentials, {}, 'the defaults are not changed by a read');
});

t.test('which part of the file is the switch\'s', async (t) => {
  t.equal(configFromJson({ port: 7300 }).port, 7300, 'a file without sections is the switch section');
  t.same(configFromJson({ tserver: { syncMode: 'ack' }, core: {} }), DEFAULT_SWITCH_CONFIG, 'a T-Server-only file: the switch takes its defaults');
  t.throws(() => configFromJson({ port: 'x' }), /^switch\.port must be/, 'a switch-only file is checked as the section');
});

t.test('relations between settings, after the flags', async (t) => {
  t.throws(() => validateConfig({ ...DEFAULT_SWITCH_CONFIG, heartbeatMs: 500 }), /must be shorter than the lease/);
  t.throws(() => validateConfig(configFromJson({ switch: { sip: { minExpires: 100, maxExpires: 10 } } })), /^switch\.sip\.minExpires \(100\) must not exceed switch\.sip\.maxExpires \(10\)/);
  const err = t.throws(() => validateConfig({ ...DEFAULT_SWITCH_CONFIG, dialPlan: { ...DEFAULT_SWITCH_CONFIG.dialPlan, queues: ['7009-7000'] } })) as Error;
  t.ok(err instanceof ConfigError, 'a bad DN range is a ConfigError too');
  t.doesNotThrow(() => validateConfig(DEFAULT_SWITCH_CONFIG));
});

t.test('the file as a whole: every process refuses the switch section the switch would refuse', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-switch-config-'));
  const path = join(dir, 'c.json');
  writeFileSync(path, JSON.stringify({ switch: { heartbeatMs: 'fast' }, tserver: {} }));
  t.throws(() => loadConfigFile(path), /^switch\.heartbeatMs must be an integer >= 1, got "fast"$/);
  t.throws(() => readConfigFile(path), /^switch\.heartbeatMs must be an integer >= 1, got "fast"$/, 'the T-Server reads the same schema');
  t.same(loadConfigFile(undefined), DEFAULT_SWITCH_CONFIG, 'no file: every default');
});
