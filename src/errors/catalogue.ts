/**
 * The one catalogue of Ferry's failures. Every error Ferry raises carries one of these codes;
 * the code is stable (never renamed or reused), and this table is the only place that maps it
 * to an HTTP status and a DCS error code. docs/errors.md is checked against it by a test.
 */
export interface ErrorSpec {
  /** HTTP status when the error reaches an API client directly. */
  http: number;
  /** DCS `error_code` for API bodies and task records. */
  dcs: string;
  /** True when the same work may be retried as it is (the failure was transient). */
  retryable: boolean;
  /** One line for docs: what it means. */
  summary: string;
}

export const CATALOGUE = {
  // --- input formats (RDB / AOF / archives) ---
  RDB_BAD_MAGIC: { http: 400, dcs: 'FERRY.4100', retryable: false, summary: 'The file does not start with a REDIS or VALKEY RDB header.' },
  RDB_UNSUPPORTED_VERSION: { http: 400, dcs: 'FERRY.4101', retryable: false, summary: 'The RDB version is outside what Ferry reads, or magic and version disagree.' },
  RDB_TRUNCATED: { http: 400, dcs: 'FERRY.4100', retryable: false, summary: 'The input ended before the structure being read was complete.' },
  RDB_CORRUPT: { http: 400, dcs: 'FERRY.4100', retryable: false, summary: 'A structure in the file is inconsistent (bad length, bad encoding, trailing bytes).' },
  RDB_UNKNOWN_TYPE: { http: 400, dcs: 'FERRY.4100', retryable: false, summary: 'An object type or opcode byte that no known format defines.' },
  RDB_CHECKSUM_MISMATCH: { http: 400, dcs: 'FERRY.4100', retryable: false, summary: 'The CRC-64 stored after EOF does not match the bytes read.' },
  RDB_LIMIT_EXCEEDED: { http: 400, dcs: 'FERRY.4100', retryable: false, summary: 'A length in the file is above a configured safety limit.' },
  AOF_CORRUPT: { http: 400, dcs: 'FERRY.4100', retryable: false, summary: 'The AOF is not a valid RESP command stream or manifest.' },
  AOF_TRUNCATED: { http: 400, dcs: 'FERRY.4100', retryable: false, summary: 'The AOF ends inside a command or an open MULTI block.' },
  AOF_COMMAND_REFUSED: { http: 400, dcs: 'FERRY.4102', retryable: false, summary: 'The AOF holds a command an import must not replay, or one that cannot be routed.' },
  ARCHIVE_HOSTILE: { http: 400, dcs: 'FERRY.4103', retryable: false, summary: 'An archive entry is unsafe (path traversal, link, nesting, encryption, bomb).' },
  ARCHIVE_CORRUPT: { http: 400, dcs: 'FERRY.4100', retryable: false, summary: 'An archive cannot be read.' },
  FORMAT_UNKNOWN: { http: 400, dcs: 'FERRY.4104', retryable: false, summary: 'The content is neither RDB nor AOF nor a supported archive.' },

  // --- sources ---
  SOURCE_NOT_FOUND: { http: 400, dcs: 'FERRY.4201', retryable: false, summary: 'The named file, object or bucket does not exist.' },
  SOURCE_ACCESS_DENIED: { http: 400, dcs: 'FERRY.4202', retryable: false, summary: 'The object store refused the credentials.' },
  SOURCE_IO: { http: 500, dcs: 'FERRY.5201', retryable: true, summary: 'Reading the source failed after bounded retries.' },
  SOURCE_SIZE_MISMATCH: { http: 400, dcs: 'FERRY.4203', retryable: false, summary: 'The object size differs from the size given in the request.' },

  // --- targets ---
  TARGET_UNREACHABLE: { http: 400, dcs: 'DCS.4049', retryable: true, summary: 'The target Redis cannot be connected to.' },
  TARGET_AUTH: { http: 400, dcs: 'DCS.4080', retryable: false, summary: 'The target refused the password or ACL user.' },
  TARGET_READONLY: { http: 400, dcs: 'DCS.4026', retryable: false, summary: 'The target is a replica or read-only.' },
  TARGET_TOO_OLD: { http: 400, dcs: 'FERRY.4301', retryable: false, summary: 'The target cannot represent data from the backup (version or feature).' },
  TARGET_DB_UNSUPPORTED: { http: 400, dcs: 'FERRY.4302', retryable: false, summary: 'The backup holds databases the target cannot take without a mapping.' },
  TARGET_REPLY_ERROR: { http: 500, dcs: 'FERRY.5301', retryable: false, summary: 'The target answered a write with an error (OOM, BUSYKEY, unknown module...).' },
  TARGET_CONNECTION_LOST: { http: 500, dcs: 'FERRY.5302', retryable: true, summary: 'The connection to the target dropped and could not be re-established.' },
  TARGET_PROTOCOL: { http: 500, dcs: 'FERRY.5303', retryable: false, summary: 'The target sent a reply Ferry could not parse.' },
  TARGET_CLUSTER: { http: 500, dcs: 'FERRY.5304', retryable: true, summary: 'Cluster routing failed (too many redirections, slots not covered).' },
  IMPORT_INCOMPLETE: { http: 500, dcs: 'FERRY.5305', retryable: false, summary: 'The import ended with keys not written.' },
  TARGET_LOADING: { http: 500, dcs: 'FERRY.5306', retryable: true, summary: 'The target was still loading its dataset when the wait for it ran out.' },

  // --- requests ---
  BAD_ARGUMENT: { http: 400, dcs: 'DCS.4062', retryable: false, summary: 'A command-line argument or request field is invalid.' },
  ABORTED: { http: 400, dcs: 'FERRY.4900', retryable: false, summary: 'The work was stopped on request.' },
  INTERNAL: { http: 500, dcs: 'DCS.5000', retryable: false, summary: 'A bug in Ferry: the message says where.' },

  // --- service API (DCS codes as documented; see docs/errors.md) ---
  REQUEST_EMPTY_BODY: { http: 400, dcs: 'DCS.4004', retryable: false, summary: 'A request that needs a JSON body came without one.' },
  REQUEST_BAD_JSON: { http: 400, dcs: 'DCS.4005', retryable: false, summary: 'The request body is not valid JSON.' },
  REQUEST_TOO_LARGE: { http: 413, dcs: 'APIGW.0201', retryable: false, summary: 'The request body is above the 12 MB limit.' },
  ROUTE_NOT_FOUND: { http: 404, dcs: 'DCS.4001', retryable: false, summary: 'No API route has this path.' },
  METHOD_NOT_ALLOWED: { http: 405, dcs: 'DCS.5001', retryable: false, summary: 'The path exists but not with this HTTP method.' },
  TASK_NOT_FOUND: { http: 400, dcs: 'DCS.4133', retryable: false, summary: 'No migration task with this id in this project.' },
  TASK_ID_INVALID: { http: 400, dcs: 'DCS.4855', retryable: false, summary: 'A batch request names a task id that does not exist in this project.' },
  TASK_STATE: { http: 400, dcs: 'DCS.4957', retryable: false, summary: 'The task is in a state that does not allow this operation (e.g. deleting a running task).' },
  INSTANCE_NOT_FOUND: { http: 404, dcs: 'DCS.3022', retryable: false, summary: 'No registered instance with this id in this project.' },
  TARGET_BUSY: { http: 400, dcs: 'DCS.4017', retryable: true, summary: 'Another task is already importing into this target instance.' },
  AUTH_TOKEN_INVALID: { http: 401, dcs: 'DCS.1001', retryable: false, summary: 'The X-Auth-Token is not a configured token.' },
  AUTH_TOKEN_MISSING: { http: 401, dcs: 'DCS.1003', retryable: false, summary: 'The request carries neither X-Auth-Token nor an AK/SK signature.' },
  AUTH_PROJECT_MISMATCH: { http: 401, dcs: 'DCS.1004', retryable: false, summary: 'The token or key is not bound to the project in the path.' },
  AUTH_SIGNATURE: { http: 401, dcs: 'APIGW.0301', retryable: false, summary: 'The AK/SK signature is missing parts, uses an unknown key, is outside the 15-minute window or does not verify.' },
  CONFIG_INVALID: { http: 500, dcs: 'DCS.5000', retryable: false, summary: 'The configuration file or environment is invalid (the field is named); the service does not start.' },
  STORE_UNSUPPORTED: { http: 500, dcs: 'DCS.5000', retryable: false, summary: 'The configured task store kind is not available in this version (no longer produced: PostgreSQL is supported).' },
  STORE_FAILED: { http: 500, dcs: 'DCS.5000', retryable: false, summary: 'The task store failed to read or write (disk, schema, lock).' },
  TASK_INTERRUPTED: { http: 500, dcs: 'FERRY.5901', retryable: true, summary: 'The service stopped while the task ran and the task could not be re-run.' },
  // --- backups (replication client, backup and restore records) ---
  REPLICATION_REFUSED: { http: 500, dcs: 'FERRY.5401', retryable: true, summary: 'The source refused to sync a snapshot to Ferry (PSYNC/SYNC error, snapshot failed on the master).' },
  REPLICATION_PROTOCOL: { http: 500, dcs: 'FERRY.5402', retryable: false, summary: 'The source sent something the replication handshake does not allow.' },
  REPLICATION_LOST: { http: 500, dcs: 'FERRY.5403', retryable: true, summary: 'The connection to the source closed before the whole snapshot arrived.' },
  REPLICATION_TIMEOUT: { http: 500, dcs: 'FERRY.5404', retryable: true, summary: 'The source sent nothing (not even a keep-alive) for the idle timeout.' },
  BACKUP_DEST_FAILED: { http: 500, dcs: 'FERRY.5405', retryable: true, summary: 'Writing the backup file to its bucket failed.' },
  BACKUP_NOT_SUPPORTED: { http: 400, dcs: 'DCS.4086', retryable: false, summary: 'Single-node instances cannot be backed up or restored (as in DCS), unless the configuration allows it.' },
  BACKUP_NOT_FOUND: { http: 404, dcs: 'FERRY.4401', retryable: false, summary: 'No backup record with this id for this instance.' },
  BACKUP_STATE: { http: 400, dcs: 'DCS.4087', retryable: false, summary: 'The backup record is not `succeed` (still running, failed or deleted), so it cannot be imported, restored or downloaded.' },
  BACKUP_REMARK_INVALID: { http: 400, dcs: 'DCS.4098', retryable: false, summary: 'The remark is longer than 128 characters.' },
  INSTANCE_BACKUPING: { http: 400, dcs: 'DCS.4096', retryable: true, summary: 'The instance is being backed up; one backup or restore runs per instance at a time.' },
  INSTANCE_RESTORING: { http: 400, dcs: 'DCS.4097', retryable: true, summary: 'The instance is being restored; one backup or restore runs per instance at a time.' },
  TIME_RANGE_INVALID: { http: 400, dcs: 'DCS.4025', retryable: false, summary: 'The end time must be after the start time.' },
  DOWNLOAD_LINK_INVALID: { http: 403, dcs: 'FERRY.4402', retryable: false, summary: 'A backup download link is malformed, tampered with or expired.' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof CATALOGUE;
