// README.md's shell commands, as a newcomer would copy them: every line of a ```sh block, and every
// inline `code` span that starts with npx, npm, node or curl. Comments (# …) and a trailing & are
// dropped; the words are split as sh would (quotes, no expansion needed by our README).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './process.js';

export interface ReadmeCommand {
  /** The command as written (without its comment). */
  text: string;
  words: string[];
  /** Run in the background (`… &`). */
  background: boolean;
  line: number;
}

const INLINE = /`((?:npx|npm|node|curl) [^`]+)`/g;

export function readmeText(): string {
  return readFileSync(join(ROOT, 'README.md'), 'utf8');
}

export function readmeCommands(text = readmeText()): ReadmeCommand[] {
  const out: ReadmeCommand[] = [];
  let fence: string | undefined;
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const f = /^```(\w*)/.exec(raw);
    if (f) {
      fence = fence === undefined ? f[1] : undefined;
      return;
    }
    if (fence === 'sh' || fence === 'bash' || fence === 'shell') {
      const cmd = stripComment(raw).trim();
      if (cmd) out.push(parse(cmd, line));
      return;
    }
    if (fence !== undefined) return;
    for (const m of raw.matchAll(INLINE)) out.push(parse(m[1]!.trim(), line));
  });
  return out;
}

/** The lines typed into a terminal (`> …`) in the first fenced block after a line equal to `title`. */
export function transcriptInput(title: string, text = readmeText()): string[] {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.trim() === title);
  if (at < 0) throw new Error(`README.md has no line "${title}"`);
  const open = lines.findIndex((l, i) => i > at && l.startsWith('```'));
  const close = lines.findIndex((l, i) => i > open && l.startsWith('```'));
  return lines.slice(open + 1, close).filter((l) => l.startsWith('> ')).map((l) => l.slice(2));
}

function stripComment(s: string): string {
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) { if (c === quote) quote = undefined; continue; }
    if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]!))) return s.slice(0, i);
  }
  return s;
}

function parse(text: string, line: number): ReadmeCommand {
  let t = text.trim();
  const background = /\s&$/.test(t);
  if (background) t = t.replace(/\s&$/, '').trim();
  return { text: t, words: splitWords(t, line), background, line };
}

/** sh word splitting for the README's commands: whitespace, '…' and "…"; throws on an unclosed quote. */
export function splitWords(s: string, line = 0): string[] {
  const words: string[] = [];
  let cur = '';
  let has = false;
  let quote: string | undefined;
  for (const c of s) {
    if (quote) {
      if (c === quote) quote = undefined;
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) words.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
    }
  }
  if (quote) throw new Error(`README.md line ${line}: unclosed ${quote} in: ${s}`);
  if (has || cur) words.push(cur);
  return words;
}
