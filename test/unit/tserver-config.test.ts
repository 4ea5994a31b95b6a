// The config file's `tserver` and `core` sections (security, HA and overload keys included), checked
// against their schema when read: a wrong type, an unknown key or a value out of range stops the
// start with a line naming the setting; a good file becomes complete settings. The `switch` section:
// switch-config.test.ts.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig, ConfigError, readConfigFile, routePointsOf } from '../../src/processes/tserver/config.js';

const dir = mkdtempSync(join(tmpdir(), 'tandem-config-'));
let n = 0;
const file = (content: unknown): string => {
  const p = join(dir, `c${n++}.json`);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
};
const base = { serverName: 'A', host: '127.0.0.1', port: 0, switchAddress: '127.0.0.1:7200', role: 'primary' as const };

t.test('bad files: each names the setting and what it must be', async (t) => {
  const cases: [unknown, RegExp][] = [
    ['{"tserver": ', /is not valid JSON .*: fix it or start without --config/],
    [[1], /is not valid JSON \(not a JSON object\)/],
    [{ tserver: { maxFrameBytes: -1 } }, /^tserver\.maxFrameBytes must be a non-negative integer, got -1$/],
    [{ tserver: { maxFrameByte: 1000 } }, /^tserver\.maxFrameByte is not a setting: use one of maxFrameBytes, maxBufferedBytes, .* \(docs\/config\.md\)$/],
    [{ tserver: { syncPort: 70000 } }, /^tserver\.syncPort must be an integer 0\.\.65535, got 70000$/],
    [{ tserver: { syncMode: 'sync' } }, /^tserver\.syncMode must be one of "ack", "async", got "sync"$/],
    [{ tserver: { logLevel: 'loud' } }, /^tserver\.logLevel must be one of "fatal", .*"silent", got "loud"$/],
    [{ tserver: { addpTrace: 'yes' } }, /^tserver\.addpTrace must be true or false, got "yes"$/],
    [{ tserver: { hangDetectionMs: 10 } }, /^tserver\.hangDetectionMs must be an integer >= 50, got 10$/],
    [{ tserver: { heapGrowingPercent: 5 } }, /^tserver\.heapGrowingPercent must be 0 \(V8's own heuristic\) or an integer 10\.\.400, got 5$/],
    [{ tserver: { overload: { loopDelay: 5 } } }, /^tserver\.overload\.loopDelay is not a setting: use one of enabled, sampleMs, intervalMs/],
    [{ tserver: { auth: { mode: 'tokens' } } }, /^tserver\.auth\.mode must be one of "none", "token", got "tokens"$/],
    [{ tserver: { auth: { tokens: { a: 5 } } } }, /^tserver\.auth\.tokens\.a must be a non-empty string or \{"token": "\.\.\.", "dns": \["5001"\]\}, got 5$/],
    [{ tserver: { allowedOrigins: 'x' } }, /^tserver\.allowedOrigins must be an array of origins/],
    [{ tserver: { tls: { cert: 'a' } } }, /^tserver\.tls\.key is required: a string$/],
    [{ core: { routePoints: { 8000: { target: '7000' } } } }, /^core\.routePoints\.8000\.defaultTarget is required: a string$/],
    [{ core: { routePoints: { 8000: { defaultTarget: '7000', timeout: 5 } } } }, /^core\.routePoints\.8000\.timeout is not a setting: use one of defaultTarget, timeoutMs/],
    [{ core: { queues: { 7000: { wrapUpMs: '5s' } } } }, /^core\.queues\.7000\.wrapUpMs must be a non-negative integer, got "5s"$/],
    [{ core: { journal: { maxEvents: 1.5 } } }, /^core\.journal\.maxEvents must be a non-negative integer, got 1\.5$/],
    [{ core: { maxCallUserDataBytes: 10 } }, /^core\.maxCallUserDataBytes is not a setting: use one of routePoints, /],
    [{ core: 'x' }, /^core must be an object, got "x"$/],
    [{ tserver: { overload: { sampleMs: 5 } } }, /^tserver\.overload\.sampleMs must be a number >= 10, got 5$/],
    [{ tserver: { overload: { validMs: 70_000 } } }, /^tserver\.overload\.validMs must be a number 0\.\.60000, got 70000$/],
    [{ tserver: { overload: { decreasePercent: 100 } } }, /^tserver\.overload\.decreasePercent must be between 1 and 99, got 100$/],
    [{ tserver: { peerTls: { cert: 'c', key: 'k' } } }, /^tserver\.peerTls\.ca is required: the PEM file of the CA that signed the peers' certificates \(mutual TLS\)$/],
    [{ tserver: { auth: { hmacKeys: { k1: '' } } } }, /^tserver\.auth\.hmacKeys\.k1 must be a non-empty string, got ""$/],
    [{ tserver: { auth: { issuer: 5 } } }, /^tserver\.auth\.issuer must be a non-empty string, got 5$/],
    [{ tserver: { auth: { maxFailures: -1 } } }, /^tserver\.auth\.maxFailures must be a non-negative integer, got -1$/],
    [{ tserver: { peerSync: 7102 } }, /^tserver\.peerSync must be a string, got 7102$/],
    [{ tserver: { addpIntervalMs: 0 } }, /^tserver\.addpIntervalMs must be an integer >= 1, got 0$/],
    [{ switch: { port: -1 } }, /^switch\.port must be an integer 0\.\.65535, got -1$/],
  ];
  for (const [content, message] of cases) {
    const err = t.throws(() => readConfigFile(file(content)), JSON.stringify(content).slice(0, 60)) as Error;
    t.ok(err instanceof ConfigError, 'a ConfigError (the CLI prints it and exits 1)');
    t.match(err.message, message);
  }
});

t.test('a good file: complete settings, defaults filled in, other sections left alone', async (t) => {
  const f = readConfigFile(file({
    switch: { leaseMs: 400 },
    tserver: { maxFrameBytes: 2048, syncMode: 'async', overload: { enabled: false } },
    core: { routePoints: { 8001: { defaultTarget: '7001' } }, queues: { 7000: { wrapUpMs: 200 } }, defaultRouteTimeoutMs: 3000, journal: { maxEvents: 10 } },
  }));
  const cfg = buildConfig(base, f);
  t.equal(cfg.limits.maxFrameBytes, 2048);
  t.equal(cfg.limits.pingIntervalMs, 10_000, 'unset limits keep their defaults');
  t.equal(cfg.overload?.enabled, false);
  t.equal(cfg.overload?.sampleMs, 50);
  t.same(cfg.core.routePoints['8001'], { defaultTarget: '7001', timeoutMs: 3000 }, 'a route point without timeoutMs takes defaultRouteTimeoutMs');
  t.same(cfg.core.routePoints['8000'], { defaultTarget: '7000', timeoutMs: 10_000 }, 'the embedded default stays');
  t.same(cfg.core.queues['7000'], { wrapUpMs: 200, treatment: 'music' }, 'a queue without treatment takes defaultTreatment');
  t.same(cfg.core.journal, { maxEvents: 10, maxAgeMs: 900_000 });
  t.equal(cfg.core.maxCallUserDataBytes, 65_536, 'from tserver.maxCallUserDataBytes');
  t.same(routePointsOf(readConfigFile(file({ core: { routePoints: { 8000: { defaultTarget: '' } } } })))['8000'], { defaultTarget: '', timeoutMs: 10_000 });
  t.same(readConfigFile(undefined), {}, 'no file: every default');
  t.same(readConfigFile(file({ leaseMs: 400 })), { leaseMs: 400 }, 'a switch-only file (no sections) is not the T-Server\'s to refuse');
});

t.test('overload relations between keys are still checked after the schema', async (t) => {
  const err = t.throws(() => buildConfig(base, readConfigFile(file({ tserver: { overload: { loopDelayLowMs: 60 } } })))) as Error;
  t.match(err.message, /loopDelayLowMs \(60\) must not be above loopDelayHighMs \(50\)/);
  t.ok(err instanceof ConfigError, 'a ConfigError: the CLI prints it and exits 1');
  t.throws(() => buildConfig(base, readConfigFile(file({ tserver: { auth: { mode: 'token' } } }))), /none of tserver\.auth\.tokens/, 'token mode needs a token source');
});
