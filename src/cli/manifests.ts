import * as fs from 'node:fs';
import * as path from 'node:path';
import yaml from 'js-yaml';
import type { KObject } from '../api/types';
import { CliError, type CliIO } from './io';

/**
 * Reads manifests from files, directories (optionally recursive) or stdin ('-'): multi-document
 * YAML or JSON, `kind: List` expanded. Each object remembers where it came from for messages.
 */
export interface Manifest {
  obj: KObject;
  source: string;
}

async function readStdin(io: CliIO): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of io.stdin as AsyncIterable<Buffer | string>) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

function filesIn(dir: string, recursive: boolean): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (recursive) out.push(...filesIn(p, recursive));
    } else if (/\.(ya?ml|json)$/i.test(e.name)) out.push(p);
  }
  return out;
}

export function parseManifests(text: string, source: string): Manifest[] {
  let docs: unknown[];
  try {
    docs = yaml.loadAll(text);
  } catch (e) {
    throw new CliError(`error parsing ${source}: ${(e as Error).message.split('\n')[0]}`);
  }
  const out: Manifest[] = [];
  const push = (d: unknown, i: number) => {
    if (d === null || d === undefined) return;
    if (typeof d !== 'object' || Array.isArray(d)) throw new CliError(`error parsing ${source}: document ${i + 1} is not an object`);
    const o = d as KObject;
    if (typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items)) {
      for (const it of o.items) push(it, i);
      return;
    }
    if (!o.apiVersion || !o.kind) throw new CliError(`error validating ${source}: document ${i + 1}: apiVersion and kind are required`);
    if (!o.metadata || typeof o.metadata !== 'object') o.metadata = {};
    out.push({ obj: o, source });
  };
  docs.forEach(push);
  return out;
}

export async function readManifests(files: string[], recursive: boolean, io: CliIO): Promise<Manifest[]> {
  if (!files.length) throw new CliError('must specify -f FILE, -f DIR or -f - (stdin)');
  const out: Manifest[] = [];
  for (const f of files) {
    if (f === '-') {
      out.push(...parseManifests(await readStdin(io), 'STDIN'));
      continue;
    }
    const p = path.resolve(io.cwd, f);
    if (!fs.existsSync(p)) throw new CliError(`the path "${f}" does not exist`);
    const list = fs.statSync(p).isDirectory() ? filesIn(p, recursive) : [p];
    for (const file of list) out.push(...parseManifests(fs.readFileSync(file, 'utf8'), f === file ? f : path.relative(io.cwd, file)));
  }
  return out;
}
