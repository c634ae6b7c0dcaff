// Which mounts may be touched from the event loop. On a local filesystem an
// open, read or close of a file whose pages are cached does not sleep; on a
// network or FUSE filesystem any of them may wait on a server (NFS revalidates
// at open and flushes at close), so those always go to Node's threadpool.
// The table comes from /proc/self/mountinfo, read asynchronously: a mount not
// in it yet is "not known", and its files take the threadpool until it is.
import * as fs from 'node:fs';
import { debug } from '../diagnostics';

/** Filesystems whose open/read/close of cached data never wait on a device or a server. */
export const LOCAL_FILESYSTEMS: ReadonlySet<string> = new Set([
  'ext2',
  'ext3',
  'ext4',
  'xfs',
  'btrfs',
  'f2fs',
  'tmpfs',
  'ramfs',
  'overlay',
]);

export type MountAnswer = 'local' | 'not local' | 'not known';

const local = new Map<number, boolean>();
let reading: Promise<void> | null = null;
let readsDone = 0;
let unknownSeen = 0;

/** How /proc/self/mountinfo names a mount's filesystem: "ID PARENT M:N ROOT POINT OPTS [TAGS] - TYPE ...". */
export function parseMountinfo(text: string): Map<number, string> {
  const types = new Map<number, string>();
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const id = Number.parseInt(line, 10);
    const type = line.slice(sep + 3).split(' ', 1)[0];
    if (Number.isInteger(id) && type) types.set(id, type);
  }
  return types;
}

function refresh(): Promise<void> {
  reading ??= new Promise<void>((resolve) => {
    fs.readFile('/proc/self/mountinfo', 'utf8', (err, text) => {
      reading = null;
      readsDone++;
      if (err) debug('mounts: cannot read /proc/self/mountinfo (%s); files take the threadpool', err.code);
      else for (const [id, type] of parseMountinfo(text)) local.set(id, LOCAL_FILESYSTEMS.has(type));
      resolve();
    });
  });
  return reading;
}

/**
 * May files on this mount be opened, read and closed in the event loop? A
 * mount not seen yet starts a (re)read of the table and answers 'not known'
 * until it arrives; a mount made after the last read is found the same way.
 */
export function mountAnswer(mountId: number): MountAnswer {
  const known = local.get(mountId);
  if (known !== undefined) return known ? 'local' : 'not local';
  // Unknown after a read: refresh at most once per 64 such files, so a mount
  // missing from the table (a namespace we cannot see) costs little.
  if (readsDone === 0 || (unknownSeen++ & 63) === 0) refresh();
  return 'not known';
}

/** Reads the table now; resolves once it is read (tests wait on it). */
export function learnMounts(): Promise<void> {
  return refresh();
}
