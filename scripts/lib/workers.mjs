// Forks a load-generator child (desktops.mjs, caller.mjs) and talks to it by request/answer over IPC.
import { fork } from 'node:child_process';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** @returns {{pid:number, call(op:string, args?:object, timeoutMs?:number): Promise<any>, close(): Promise<void>}} */
export function forkWorker(file) {
  const child = fork(join(HERE, file), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let id = 0;
  const waiting = new Map();
  child.on('message', (m) => { const w = waiting.get(m.id); if (w) { waiting.delete(m.id); m.ok ? w.resolve(m) : w.reject(new Error(`${file}: ${m.error}`)); } });
  child.on('exit', (code) => { for (const w of waiting.values()) w.reject(new Error(`${file} exited (${code})`)); waiting.clear(); });
  return {
    pid: child.pid,
    call(op, args = {}, timeoutMs = 300_000) {
      const mid = ++id;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { waiting.delete(mid); reject(new Error(`${file}: ${op} timed out`)); }, timeoutMs);
        waiting.set(mid, { resolve: (v) => { clearTimeout(timer); resolve(v); }, reject: (e) => { clearTimeout(timer); reject(e); } });
        child.send({ ...args, op, id: mid });
      });
    },
    async close() {
      if (child.exitCode !== null) return;
      await this.call('close', {}, 5_000).catch(() => {});
      child.kill('SIGKILL');
    },
  };
}
