// The one way this library looks a path up in the event loop, for an open
// (in-loop-fs.ts) and for a stat (in-loop-stat.ts): openat2(O_PATH,
// RESOLVE_CACHED) from the dcache only, then the mount it is on must be a
// local filesystem (facts/mounts.ts). Each user keeps its own lookup: a test's
// fake binding that answers ENOSYS turns off that lookup, not the process's.
import { errnoName } from '../engine/errno-policy';
import { mountAnswer } from '../facts/mounts';
import type { NativeBinding } from '../native';

const EPERM = 1;
const EAGAIN = 11;
const EINVAL = 22;
const ENOSYS = 38;
/**
 * What openat2(O_PATH, RESOLVE_CACHED) answers where it cannot work at all:
 * no openat2 (before 5.6; ENOSYS), no RESOLVE_CACHED (5.6-5.11; EINVAL), or
 * a seccomp filter refusing the syscall (ENOSYS, or EPERM in older Docker
 * profiles). For any path it would say the same: stop asking.
 */
const NEVER_WORKS: ReadonlySet<number> = new Set([EPERM, EINVAL, ENOSYS]);

export interface Found {
  /** An O_PATH fd: the caller closes it (reopenCached closes it too). */
  pathFd: number;
  regular: boolean;
}

export interface CachedLookup {
  /** The path found in the loop, or why the threadpool must do the call. */
  find(path: string): Found | string;
}

export function makeCachedLookup(binding: NativeBinding): CachedLookup {
  const scratch = new Float64Array(2);
  /** Set for good when the kernel cannot do cached lookups at all (NEVER_WORKS). */
  let off: string | null = null;
  return {
    find(path) {
      if (off !== null) return off;
      const pathFd = binding.lookupCached(path, scratch);
      if (pathFd < 0) {
        const errno = -pathFd;
        if (NEVER_WORKS.has(errno))
          off = `openat2 RESOLVE_CACHED or statx's mount id unavailable (${errnoName(errno)})`;
        return errno === EAGAIN ? 'path not in the dcache' : `lookup ${errnoName(errno)}`;
      }
      const where = mountAnswer(scratch[0]);
      if (where !== 'local') {
        binding.close(pathFd);
        return `mount ${where}`;
      }
      return { pathFd, regular: scratch[1] === 1 };
    },
  };
}
