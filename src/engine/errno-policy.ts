// What an errno from sendfile, splice or copy_file_range means, one table per
// syscall for both engines. Modelled on Rust's library/std/src/sys/pal/unix/
// kernel_copy.rs and Go's internal/poll: an errno that says "this syscall
// cannot do this pair of fds" is met on the first call, so while nothing has
// moved the transfer falls back (the next syscall, then the normal path) from
// the offset reached; after a byte has moved the same errno is the stream's
// error. A few real errors are listed too: declining on them is safe because
// the normal path meets the same error and reports it in Node's own shape.
import { constants } from 'node:os';
import type { OpName } from '../native';
import type { Side } from './outcome';

/** Linux errno numbers by name, as the native layer reports them (positive). */
export const os = constants.errno as Required<typeof constants.errno>;
type ErrnoName = keyof typeof os;

const MISSING = 'not in this kernel, or refused by a seccomp filter (turned off for the process)';
const REREAD = 'a real error: the normal path meets it again and reports it as Node would';

/** Per syscall: the errnos that mean "not for this pair", each with why. */
export const NOT_FOR_THIS_PAIR: Readonly<Record<OpName, Readonly<Partial<Record<ErrnoName, string>>>>> = {
  copy_file_range: {
    ENOSYS: MISSING,
    EXDEV: 'the files are on different filesystems (always before Linux 5.3; some filesystems still)',
    EINVAL: 'not two regular files, or a filesystem without support',
    EOPNOTSUPP: 'the filesystem cannot (NFS, some RHEL 7 kernels: golang/go#40731)',
    EPERM: 'an immutable or append-only file, or a seccomp filter',
    EBADF: 'the destination is open for appending, or not for writing',
    EIO: `CIFS answers EIO where it cannot copy (Go); elsewhere, ${REREAD}`,
    EOVERFLOW: 'offset plus length past what the filesystem allows',
  },
  sendfile: {
    ENOSYS: MISSING,
    EINVAL: 'the source cannot be mapped page by page, or the destination does not take sendfile',
    EOPNOTSUPP: 'the destination filesystem cannot',
    EPERM: 'a seccomp filter or security module',
    ESPIPE: 'the source cannot seek',
    EOVERFLOW: "offset plus count past the source's limit (Rust falls back)",
    EBADF: REREAD,
    EIO: REREAD,
  },
  splice: {
    ENOSYS: MISSING,
    EINVAL: 'neither end is a pipe that takes splice here, or a file open for appending',
    EOPNOTSUPP: 'the file or socket type has no splice support',
    EPERM: 'a seccomp filter or security module',
    ESPIPE: 'an offset on a pipe or socket',
    EBADF: REREAD,
    EIO: REREAD,
  },
};

/** errnos of the writing side; any other failure is the reader's. */
const DESTINATION_ERRNO = new Set([
  os.EPIPE,
  os.ECONNRESET,
  os.ENOTCONN,
  os.ENOSPC,
  os.EDQUOT,
  os.EFBIG,
  os.ECONNABORTED,
  os.ETIMEDOUT,
  os.EHOSTUNREACH,
  os.ENETUNREACH,
  os.EROFS,
]);

// By number: several names share one (EOPNOTSUPP and ENOTSUP, EAGAIN and EWOULDBLOCK).
const fallbackErrnos: Record<OpName, Set<number>> = {
  copy_file_range: numbers(NOT_FOR_THIS_PAIR.copy_file_range),
  sendfile: numbers(NOT_FOR_THIS_PAIR.sendfile),
  splice: numbers(NOT_FOR_THIS_PAIR.splice),
};

function numbers(reasons: Partial<Record<ErrnoName, string>>): Set<number> {
  return new Set(Object.keys(reasons).map((name) => os[name as ErrnoName]));
}

const unavailable = new Set<OpName>();

export type Verdict =
  /** The socket or pipe is full (or empty): wait for it in the event loop. */
  | { kind: 'wait' }
  /** Try the next syscall, then the normal path, from the offset reached. */
  | { kind: 'fallback'; reason: string }
  | { kind: 'error' };

/** What `errno` from `op` means, when `moved` bytes have moved before it. */
export function judge(op: OpName, errno: number, moved: number): Verdict {
  if (errno === os.EAGAIN) return { kind: 'wait' };
  if (moved === 0 && fallbackErrnos[op].has(errno)) {
    if (errno === os.ENOSYS) unavailable.add(op);
    return { kind: 'fallback', reason: `${op} ${errnoName(errno)}` };
  }
  return { kind: 'error' };
}

/** False once the syscall said ENOSYS in this process. */
export function opAvailable(op: OpName): boolean {
  return !unavailable.has(op);
}

/** The side an errno belongs to, where one syscall both reads and writes. */
export function sideOf(errno: number): Side {
  return DESTINATION_ERRNO.has(errno) ? 'destination' : 'source';
}

export function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(os)) if (value === errno) return name;
  return `errno ${errno}`;
}
