// bun:ffi bindings for the libc calls that node:fs lacks: lseek with SEEK_DATA/SEEK_HOLE (finding a sparse
// file's extents), copy_file_range (in-kernel copy of one extent), fallocate (reserving a file's blocks, or
// punching holes to release them) and renameat2 with RENAME_NOREPLACE (an atomic
// "rename unless the target exists") or RENAME_EXCHANGE (two paths swap their files or dirs at once). libc is opened once, on first use, per thread (each Worker has its own).
import { dlopen, FFIType, read, type Pointer } from "bun:ffi";
import { getSystemErrorName } from "node:util";

const SEEK_DATA = 3;
const SEEK_HOLE = 4;
const AT_FDCWD = -100;
const RENAME_NOREPLACE = 1;
const RENAME_EXCHANGE = 2;
const FALLOC_FL_KEEP_SIZE = 1;
const FALLOC_FL_PUNCH_HOLE = 2;

function openLibc() {
  return dlopen("libc.so.6", {
    lseek: { args: [FFIType.i32, FFIType.i64, FFIType.i32], returns: FFIType.i64_fast },
    copy_file_range: {
      args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.u32],
      returns: FFIType.i64_fast,
    },
    fallocate: { args: [FFIType.i32, FFIType.i32, FFIType.i64, FFIType.i64], returns: FFIType.i32 },
    renameat2: { args: [FFIType.i32, FFIType.ptr, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    strerror: { args: [FFIType.i32], returns: FFIType.cstring },
    __errno_location: { args: [], returns: FFIType.ptr },
  });
}

type Libc = ReturnType<typeof openLibc>["symbols"];

let libc: Libc | undefined;
let errnoLocation: Pointer | undefined;

function symbols(): Libc {
  if (!libc) {
    libc = openLibc().symbols;
    // Typed as a number-or-bigint pointer by bun-types; at run time a number or null.
    errnoLocation = (libc.__errno_location() as Pointer | null) ?? undefined;
  }
  return libc;
}

/** A failed libc call, shaped like node's fs errors: `code` is the errno name (`EXDEV`), `errno` its number. */
export class ErrnoError extends Error {
  override readonly name = "ErrnoError";
  readonly code: string;
  constructor(
    readonly errno: number,
    readonly syscall: string,
    readonly path: string,
    readonly dest?: string,
  ) {
    const code = getSystemErrorName(-errno);
    const target = dest === undefined ? `'${path}'` : `'${path}' -> '${dest}'`;
    super(`${code}: ${String(symbols().strerror(errno))}, ${syscall} ${target}`);
    this.code = code;
  }
}

/** Read right after a call returned -1; nothing between the call and this read touches errno. */
function lastErrno(): number {
  return errnoLocation ? read.i32(errnoLocation, 0) : 0;
}

function asNumber(value: number | bigint): number {
  return typeof value === "bigint" ? Number(value) : value;
}

/** Offset of the first data byte at or after `offset`, or null when only a hole (or EOF) follows. */
export function seekData(fd: number, offset: number, path: string): number | null {
  const result = asNumber(symbols().lseek(fd, offset, SEEK_DATA));
  if (result >= 0) return result;
  const errno = lastErrno();
  if (getSystemErrorName(-errno) === "ENXIO") return null;
  throw new ErrnoError(errno, "lseek(SEEK_DATA)", path);
}

/** Offset of the first hole at or after `offset`; end of file counts as a hole. */
export function seekHole(fd: number, offset: number, path: string): number {
  const result = asNumber(symbols().lseek(fd, offset, SEEK_HOLE));
  if (result >= 0) return result;
  throw new ErrnoError(lastErrno(), "lseek(SEEK_HOLE)", path);
}

/** Copies up to `length` bytes from `fdIn`@`offsetIn` to `fdOut`@`offsetOut` in the kernel; returns bytes copied. */
export function copyFileRange(
  fdIn: number,
  offsetIn: number,
  fdOut: number,
  offsetOut: number,
  length: number,
  paths: { src: string; dst: string },
): number {
  // Explicit offsets leave both descriptors' file positions alone.
  const inOff = new BigInt64Array([BigInt(offsetIn)]);
  const outOff = new BigInt64Array([BigInt(offsetOut)]);
  const result = asNumber(symbols().copy_file_range(fdIn, inOff, fdOut, outOff, length, 0));
  if (result >= 0) return result;
  throw new ErrnoError(lastErrno(), "copy_file_range", paths.src, paths.dst);
}

/**
 * Allocates the blocks of `fd`'s range (growing the file to cover it): later writes there need no free space.
 * Existing data is kept; a full disk is an ErrnoError ENOSPC (blocks it did allocate may stay).
 */
export function fallocate(fd: number, offset: number, length: number, path: string): void {
  fallocateMode(fd, 0, offset, length, path);
}

/** Frees the blocks of `fd`'s range, which then reads as zeros; the file's size stays. */
export function punchHole(fd: number, offset: number, length: number, path: string): void {
  fallocateMode(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length, path);
}

function fallocateMode(fd: number, mode: number, offset: number, length: number, path: string): void {
  if (symbols().fallocate(fd, mode, offset, length) !== 0) throw new ErrnoError(lastErrno(), "fallocate", path);
}

/** rename(2) that fails with EEXIST instead of replacing an existing target (even an empty directory). */
export function renameNoReplace(from: string, to: string): void {
  renameat2(from, to, RENAME_NOREPLACE);
}

/** Swaps what two existing paths name, atomically: no moment sees either path missing. */
export function exchangePaths(a: string, b: string): void {
  renameat2(a, b, RENAME_EXCHANGE);
}

function renameat2(from: string, to: string, flags: number): void {
  const result = symbols().renameat2(AT_FDCWD, cString(from), AT_FDCWD, cString(to), flags);
  if (result !== 0) throw new ErrnoError(lastErrno(), "renameat2", from, to);
}

function cString(value: string): Buffer {
  return Buffer.from(`${value}\0`, "utf8");
}
