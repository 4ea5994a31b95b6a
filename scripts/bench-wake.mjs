#!/usr/bin/env node
// The CPU floor of one inbound message: a child process sends one 64-byte message every 1 ms to this
// process (raw TCP, or one grpc-js bidirectional stream); this process counts them and reports its own
// CPU per message over 4 s. Every message wakes the event loop on its own, as most do on a T-Server
// below saturation (docs/benchmarks.md, "Where the primary's CPU goes").
// usage: node scripts/bench-wake.mjs [--modes net,grpc,net,grpc]
import net from 'node:net';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { parseScriptArgs } from './lib/cli-args.mjs';

const PATH = '/bench.Wake/Link';
const raw = (b) => b;

async function child(mode, port) {
  const msg = Buffer.alloc(64, 1);
  if (mode === 'net') {
    const s = net.connect(port, '127.0.0.1', () => setInterval(() => s.write(msg), 1));
    return;
  }
  const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const stream = c.makeBidiStreamRequest(PATH, raw, raw);
  setInterval(() => stream.write(msg), 1);
}

async function measure(mode) {
  let n = 0;
  let port;
  let close;
  if (mode === 'net') {
    const srv = net.createServer((s) => s.on('data', () => { n++; }));
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    port = srv.address().port;
    close = () => srv.close();
  } else {
    const server = new grpc.Server();
    server.addService({ Link: { path: PATH, requestStream: true, responseStream: true, requestDeserialize: raw, responseSerialize: raw } }, { Link: (call) => call.on('data', () => { n++; }) });
    port = await new Promise((r, j) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? j(e) : r(p))));
    close = () => server.forceShutdown();
  }
  const peer = fork(fileURLToPath(import.meta.url), ['--child', mode, '--port', String(port)]);
  try {
    await new Promise((r) => setTimeout(r, 1500));
    const c0 = process.cpuUsage();
    const n0 = n;
    await new Promise((r) => setTimeout(r, 4000));
    const c = process.cpuUsage(c0);
    const msgs = n - n0;
    console.log(`${mode.padEnd(4)} ${(msgs / 4).toFixed(0)} messages/s, receiver CPU ${((c.user + c.system) / msgs).toFixed(1)} µs per message`);
  } finally {
    peer.kill();
    close();
  }
}

const USAGE = 'usage: node scripts/bench-wake.mjs [--modes net,grpc,net,grpc]   (net: raw TCP; grpc: one grpc-js stream)';
const { values } = parseScriptArgs('bench-wake', USAGE, { options: { modes: { type: 'string', default: 'net,grpc,net,grpc' }, child: { type: 'string' }, port: { type: 'string' } } });
if (values.child) {
  await child(values.child, Number(values.port));
} else {
  const modes = values.modes.split(',');
  const bad = modes.find((m) => m !== 'net' && m !== 'grpc');
  if (bad !== undefined) {
    console.error(`bench-wake: unknown mode "${bad}": net or grpc\n${USAGE}`);
    process.exit(2);
  }
  for (const mode of modes) await measure(mode);
}
