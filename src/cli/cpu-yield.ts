/**
 * Giving a target on this host first call on the CPU.
 *
 * Why: Redis runs commands on one thread, and an import goes exactly as fast as that thread is kept
 * busy. When `ferry import` runs on the machine its target runs on, each moment one of Ferry's own
 * threads (the parser, V8's compiler and garbage-collector helpers, libuv's file reads) holds a core
 * the target wants, the target waits. Measured on the 2-vCPU bench machine, mixed dataset (395 MB,
 * ~3 s): the target spent 0.15-0.30 s of each import runnable but waiting for a core; with Ferry at
 * nice 10 it waited 0.05-0.09 s, and it was busy ~92% of the import instead of ~90%
 * (docs/benchmarks.md). A target on another host is not affected, so this is done for local ones
 * only, and `--no-yield-cpu` turns it off.
 *
 * Only ever lowers the priority (raising it needs privileges), and never fails the import: a thread
 * that ends, or a system that refuses, just keeps its priority.
 */
import { readdirSync } from 'node:fs';
import { lookup } from 'node:dns/promises';
import { getPriority, networkInterfaces, setPriority } from 'node:os';
import { isIP } from 'node:net';
import type { HostPort } from '../writer/target-spec.js';

/** The nice value Ferry takes when its target is local (0 is the default, 19 the lowest priority). */
export const YIELD_NICE = 10;

/** Addresses of this host: loopback and every interface's own. */
function ownAddresses(): Set<string> {
  const out = new Set<string>(['127.0.0.1', '::1']);
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) out.add(a.address);
  }
  return out;
}

function isOwnAddress(ip: string, own: Set<string>): boolean {
  if (ip.startsWith('::ffff:')) ip = ip.slice(7);
  return own.has(ip) || (isIP(ip) === 4 && ip.startsWith('127.'));
}

/**
 * True when any of the target's seed addresses is this host (a cluster's seed being local means its
 * nodes are, in every set-up Ferry knows of). Names are resolved; one that does not resolve is taken
 * as remote (the connection will then report it).
 */
export async function isLocalTarget(addrs: readonly HostPort[]): Promise<boolean> {
  const own = ownAddresses();
  for (const { host } of addrs) {
    if (isIP(host)) {
      if (isOwnAddress(host, own)) return true;
      continue;
    }
    try {
      const found = await lookup(host, { all: true });
      if (found.some((a) => isOwnAddress(a.address, own))) return true;
    } catch {
      // Unresolvable: not known to be local.
    }
  }
  return false;
}

/**
 * Lowers this process's CPU priority to `nice`. On Linux the nice value belongs to each thread, and
 * V8's worker threads exist before any of Ferry's code runs, so every thread listed in
 * /proc/self/task is lowered; threads started later (libuv's pool) inherit the main thread's value.
 * Elsewhere the process's value is set. Returns the threads lowered.
 */
export function lowerOwnPriority(nice = YIELD_NICE): number {
  let ids: number[];
  try {
    ids = readdirSync('/proc/self/task').map(Number);
  } catch {
    ids = [0];
  }
  let lowered = 0;
  for (const id of ids) {
    try {
      if (getPriority(id) < nice) {
        setPriority(id, nice);
        lowered++;
      }
    } catch {
      // The thread ended meanwhile, or the system does not allow it: it keeps its priority.
    }
  }
  return lowered;
}
