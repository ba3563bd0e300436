// Guest images: a kernel, an optional initrd and an optional rootfs disk, copied into <data>/images/<name>/ so
// the data dir is self-contained and an image cannot change under the instances and snapshots that use it.
import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { commitDir, removeTree, stageDir } from "../../fs/atomic.ts";
import type { ImageRow } from "../../store/schema.ts";
import { sparseCopyFile } from "../../fs/sparse-copy.ts";
import type { CoreContext } from "../service/context.ts";
import { conflict, inStep, notFound } from "../errors.ts";
import { ensureFreeSpace, storageError } from "../service/disk-space.ts";
import { resolveImageSource, type ImageSource } from "./image-source.ts";
import { writeImageRecord } from "../../store/payload/image-record.ts";
import { imageContentHash, imageContentHashOf } from "../../store/payload/manifest.ts";
import { z } from "zod";
import { generationName, reinstateGeneration, retireGeneration } from "./generations.ts";

export const DEFAULT_IMAGE = "default";
const DEFAULT_CMDLINE = "console=ttyS0 quiet panic=-1";

export interface RegisterImageInput {
  name: string;
  kernel: string;
  initrd?: string;
  rootfs?: string;
  cmdline?: string;
}

/** POST /images: every source must be a regular file under the image roots (image-source.ts). */
export async function registerImage(ctx: CoreContext, input: RegisterImageInput): Promise<ImageRow> {
  if (ctx.images.get(input.name)) throw conflict(`image ${JSON.stringify(input.name)} already exists`);
  const sources: ImageSources = {};
  for (const field of SOURCE_FIELDS) {
    const path = input[field];
    if (path !== undefined) sources[field] = await resolveImageSource(ctx.config.imageRoots, field, path);
  }
  return copyImage(ctx, input, sources);
}

const SOURCE_FIELDS = ["kernel", "initrd", "rootfs"] as const;
type ImageSources = Partial<Record<(typeof SOURCE_FIELDS)[number], ImageSource>>;

/** Copies the sources into `finalDir` (staging + rename) and commits the row. */
async function copyImage(ctx: CoreContext, input: RegisterImageInput, sources: ImageSources, finalDir = ctx.paths.image(input.name)): Promise<ImageRow> {
  const bytes = Object.values(sources).reduce((sum, s) => sum + s.allocatedBytes, 0);
  const what = `image ${input.name}`;
  await ensureFreeSpace(ctx, bytes, what);
  const staging = await stageDir(ctx.paths.tmpDir);
  const placed: Partial<Record<keyof ImageSources, string>> = {};
  let row: ImageRow;
  try {
    for (const field of SOURCE_FIELDS) {
      const source = sources[field];
      if (source === undefined) continue;
      // Named after what the client gave (a link keeps its own name), copied from what it resolved to.
      const name = `${field}-${basename(input[field] ?? source.path)}`;
      await sparseCopyFile(source.path, join(staging, name));
      placed[field] = join(finalDir, name);
    }
    row = {
      name: input.name,
      kernel: placed.kernel!,
      initrd: placed.initrd ?? null,
      rootfs: placed.rootfs ?? null,
      cmdline: input.cmdline ?? DEFAULT_CMDLINE,
      createdAt: ctx.clock(),
    };
    // The record rebuilds the row if the index is lost.
    await writeImageRecord(staging, row);
    await removeTree(finalDir); // leftovers of a registration whose row never committed
    await commitDir(staging, finalDir);
  } catch (err) {
    await removeTree(staging);
    throw (await storageError(ctx, err, bytes, what)) ?? inStep(`register image ${input.name}`, err);
  }
  ctx.images.upsert(row);
  return row;
}

export type Image = ImageRow;

export function listImages(ctx: CoreContext): Image[] {
  return ctx.images.list();
}

export function getImage(ctx: CoreContext, name: string): ImageRow {
  const row = ctx.images.get(name);
  if (!row) throw notFound(`image ${JSON.stringify(name)} not found`);
  return row;
}

/** What ensureDefaultImage reads of scripts/build-guest's manifest.json: the files' hashes it computed while building. */
const BuildManifest = z.looseObject({
  cmdline: z.string().optional(),
  files: z.record(z.string(), z.looseObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().nonnegative() })).optional().catch(undefined),
});
const BUILD_FILES = { kernel: "vmlinuz", initrd: "initrd.img", rootfs: "rootfs.ext4" } as const;

/**
 * The build's content hash from the file hashes build-guest recorded, so a start-up does not read the ~80 MB build
 * again; null (hash the files) when the manifest lacks one or a file's size is not the one recorded.
 */
function builtHashFromManifest(manifest: z.output<typeof BuildManifest>, sizes: Partial<Record<keyof ImageSources, number>>, cmdline: string): string | null {
  const sha = (field: keyof typeof BUILD_FILES) => {
    const file = manifest.files?.[BUILD_FILES[field]];
    return file && file.bytes === sizes[field] ? file.sha256 : null;
  };
  const files = { kernel: sha("kernel"), initrd: sha("initrd"), rootfs: sha("rootfs") };
  return files.kernel && files.initrd && files.rootfs ? imageContentHashOf(files, cmdline) : null;
}

/**
 * Registers the image built by scripts/build-guest as `default`. A build whose contents differ from the registered
 * `default` becomes its next generation (generations.ts): the files registered before stay, as `default@<hash>`.
 */
export async function ensureDefaultImage(ctx: CoreContext): Promise<void> {
  const dir = ctx.config.defaultImageDir;
  if (!dir) return;
  const current = ctx.images.get(DEFAULT_IMAGE);
  const manifestPath = join(dir, "manifest.json");
  if (!existsSync(manifestPath)) {
    if (!current) ctx.logger.warn("default guest image not built; run scripts/build-guest", { dir });
    return;
  }
  const manifest = BuildManifest.parse(await Bun.file(manifestPath).json());
  // The server's own configured build output: trusted, so not held to the image roots clients are.
  const build = { name: DEFAULT_IMAGE, kernel: join(dir, BUILD_FILES.kernel), initrd: join(dir, BUILD_FILES.initrd), rootfs: join(dir, BUILD_FILES.rootfs), cmdline: manifest.cmdline ?? DEFAULT_CMDLINE };
  const sources: ImageSources = {};
  const sizes: Partial<Record<keyof ImageSources, number>> = {};
  for (const field of SOURCE_FIELDS) {
    const st = await stat(build[field]);
    sources[field] = { path: build[field], allocatedBytes: st.blocks * 512 };
    sizes[field] = st.size;
  }
  if (!current && !existsSync(ctx.paths.image(DEFAULT_IMAGE))) {
    await copyImage(ctx, build, sources);
    ctx.logger.info("registered default guest image", { dir });
    return;
  }
  const built = builtHashFromManifest(manifest, sizes, build.cmdline) ?? (await imageContentHash(build));
  // Files that cannot be read any more (a data dir moved by hand) are no generation to keep: the build replaces them.
  const registered = current && (await ctx.manifests.imageHash(current).catch((err: unknown) => {
    ctx.logger.warn("registered default image unreadable; registering the build in its place", { error: err instanceof Error ? err.message : String(err) });
    return undefined;
  }));
  if (registered === built) return;
  if (current && registered) await retireGeneration(ctx, current, registered);
  const older = ctx.images.get(generationName(DEFAULT_IMAGE, built));
  if (older) {
    await reinstateGeneration(ctx, older, DEFAULT_IMAGE);
  } else {
    // images/default/ holds an older generation's files: a new build never goes there.
    await copyImage(ctx, build, sources, ctx.paths.imageGeneration(generationName(DEFAULT_IMAGE, built)));
  }
  ctx.logger.info("registered a new generation of the default guest image", { dir, ...(registered ? { previous: generationName(DEFAULT_IMAGE, registered) } : {}) });
}
