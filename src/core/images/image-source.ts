// Where POST /images may copy from: regular files under the configured image roots, after every symlink is
// resolved. Anything else a client names (a root-only host file, a device, a link out of a root) is refused
// before it is opened, so an image can never carry a host file into a guest.
import { constants } from "node:fs";
import { access, realpath, stat } from "node:fs/promises";
import { isAbsolute, resolve, sep } from "node:path";
import { forbidden, invalidRequest } from "../errors.ts";

/** A source file that passed the checks: its real path (what gets copied) and what it costs on disk. */
export interface ImageSource {
  path: string;
  allocatedBytes: number;
}

/**
 * Resolves `path` (the client's value of `field`) to a regular file inside one of `roots`. The order of the
 * checks keeps this from being an oracle for host files: a path outside the roots is 403 whether or not a
 * regular file exists there; only a non-file (a device, a directory) is told apart, as a 400.
 */
export async function resolveImageSource(roots: readonly string[], field: string, path: string): Promise<ImageSource> {
  if (!isAbsolute(path)) throw invalidRequest(`${field}: must be an absolute path`);
  const realRoots = await existingRealPaths(roots);
  const real = await realpath(path).catch(() => undefined);
  if (real === undefined) {
    if (!isUnder(resolve(path), realRoots)) throw outsideRoots(field);
    throw invalidRequest(`${field}: no file at the given path`);
  }
  const info = await stat(real);
  if (!info.isFile()) throw invalidRequest(`${field}: not a regular file`);
  if (!isUnder(real, realRoots)) throw outsideRoots(field);
  await access(real, constants.R_OK).catch(() => {
    throw invalidRequest(`${field}: the file is not readable by the server`);
  });
  return { path: real, allocatedBytes: info.blocks * 512 };
}

function outsideRoots(field: string) {
  return forbidden(`${field}: the file is outside the image roots this server copies from (config imageRoots)`);
}

/** Roots may be symlinks themselves, and may not exist yet (the guest image is not built). */
async function existingRealPaths(roots: readonly string[]): Promise<string[]> {
  const real = await Promise.all(roots.map((root) => realpath(root).catch(() => undefined)));
  return real.filter((r): r is string => r !== undefined);
}

export function isUnder(path: string, roots: readonly string[]): boolean {
  return roots.some((root) => path.startsWith(root.endsWith(sep) ? root : root + sep));
}
