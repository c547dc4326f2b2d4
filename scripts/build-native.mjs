#!/usr/bin/env node
// npm's install step for Ferry (package.json "install", run by `npm ci` and `npm install`): builds the
// native addon in native/crc64 (CRC-64, LZF decompression, RESP encoding) with node-gyp. It never fails the install: where there is no C
// compiler, no Node headers or no network to fetch them, it says so and Ferry uses its WebAssembly
// and JS CRC engines (same results, slower; src/rdb/crc64.ts). Run it again by hand to retry.
//
// Why an explicit script: npm runs `node-gyp rebuild` by itself only for a package with a binding.gyp
// at its root and no install script, and then a failed build fails the whole install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../native/crc64/', import.meta.url));
const ADDON = join(DIR, 'build/Release/ferry_crc64.node');

function warn(msg) {
  process.stderr.write(`ferry: native addon (CRC-64, LZF, RESP) not built: ${msg}\nferry: Ferry works without it (WebAssembly/JS engines, slower); retry with: node scripts/build-native.mjs\n`);
}

// node-gyp: the one npm runs scripts with (npm_config_node_gyp), else npm's bundled copy beside node.
const candidates = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
  join(dirname(process.execPath), 'node_modules/npm/node_modules/node-gyp/bin/node-gyp.js'),
].filter(Boolean);
const gyp = candidates.find((p) => existsSync(p));

if (!gyp) {
  warn('node-gyp not found');
} else {
  const args = [gyp, 'rebuild', '--directory', DIR, '--loglevel=warn'];
  // Headers installed beside this node (distribution packages, official tarballs): use them rather
  // than download them, unless npm is configured with a nodedir already.
  const prefix = join(dirname(process.execPath), '..');
  if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include/node/node_api.h'))) args.push(`--nodedir=${prefix}`);
  const res = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 5 * 60_000 });
  if (res.status !== 0) {
    const out = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    warn(`node-gyp ${res.error ? res.error.message : `exited with ${res.status}`}${out ? `\n${out}` : ''}`);
  } else {
    try {
      const mod = createRequire(import.meta.url)(ADDON);
      process.stdout.write(`ferry: native addon built (CRC-64 ${mod.engine} engine, LZF${mod.respRestore ? ", RESP encoders" : ""})\n`);
    } catch (err) {
      warn(`built but not loadable: ${err.message}`);
    }
  }
}
