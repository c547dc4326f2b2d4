/**
 * Commands an import must not replay: they wipe or reconfigure the target, stop it, or change its
 * replication, instead of writing data. Redis itself never writes most of them to an AOF, so seeing
 * one means a hand-edited or foreign file; the import refuses them by default and reports each.
 */
const REFUSED = new Set([
  'flushall', 'flushdb', 'shutdown', 'config', 'debug', 'replicaof', 'slaveof', 'monitor', 'save',
  'bgsave', 'bgrewriteaof', 'sync', 'psync', 'failover', 'cluster', 'client', 'acl', 'module',
  'swapdb', 'migrate', 'script', 'function', 'quit', 'reset', 'auth', 'hello', 'readonly',
  'readwrite', 'wait', 'waitaof', 'latency', 'slowlog', 'memory', 'object', 'lastsave', 'info',
]);

/**
 * `SCRIPT LOAD` and `FUNCTION LOAD` restore code a backup depends on (old AOFs replicate scripts);
 * their other subcommands (FLUSH, KILL, RESTORE...) do not belong in an import.
 */
const ALLOWED_SUBCOMMANDS: Record<string, Set<string>> = {
  script: new Set(['load']),
  function: new Set(['load']),
};

/** The command name when `argv` (whose lower-case name is `name`) must be refused, else null. */
export function refusedCommand(name: string, argv: Buffer[]): string | null {
  if (!REFUSED.has(name)) return null;
  const allowed = ALLOWED_SUBCOMMANDS[name];
  if (allowed && argv.length > 1 && allowed.has(argv[1]!.toString('latin1').toLowerCase())) return null;
  return name;
}
