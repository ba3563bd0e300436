// Guest images: a kernel, an optional initrd and an optional rootfs disk, copied into <data>/images/<name>/ so
// the data dir is self-contained and an image cannot change under the instances and snapshots that use it.
import { existsSync } from "node:fs";
import { basename, join } from "node:path";
import { commitDir, removeTree, stageDir } from "../../fs/atomic.ts";
import type { ImageRow } from "../../store/schema.ts";
import { sparseCopyFile } from "../../fs/sparse-copy.ts";
import type { CoreContext } from "../service/context.ts";
import { conflict, inStep, invalidRequest, notFound } from "../errors.ts";

export const DEFAULT_IMAGE = "default";
const DEFAULT_CMDLINE = "console=ttyS0 quiet panic=-1";

export interface RegisterImageInput {
  name: string;
  kernel: string;
  initrd?: string;
  rootfs?: string;
  cmdline?: string;
}

export async function registerImage(ctx: CoreContext, input: RegisterImageInput): Promise<ImageRow> {
  if (ctx.images.get(input.name)) throw conflict(`image ${JSON.stringify(input.name)} already exists`);
  const sources = { kernel: input.kernel, initrd: input.initrd, rootfs: input.rootfs };
  for (const [field, path] of Object.entries(sources)) {
    if (path !== undefined && !existsSync(path)) throw invalidRequest(`${field}: no file at ${path}`);
  }
  const finalDir = ctx.paths.image(input.name);
  const staging = await stageDir(ctx.paths.tmpDir);
  const placed: Partial<Record<keyof typeof sources, string>> = {};
  try {
    for (const [field, path] of Object.entries(sources) as [keyof typeof sources, string | undefined][]) {
      if (path === undefined) continue;
      const name = `${field}-${basename(path)}`;
      await sparseCopyFile(path, join(staging, name));
      placed[field] = join(finalDir, name);
    }
    await removeTree(finalDir); // leftovers of a registration whose row never committed
    await commitDir(staging, finalDir);
  } catch (err) {
    await removeTree(staging);
    throw inStep(`register image ${input.name}`, err);
  }
  const row: ImageRow = {
    name: input.name,
    kernel: placed.kernel!,
    initrd: placed.initrd ?? null,
    rootfs: placed.rootfs ?? null,
    cmdline: input.cmdline ?? DEFAULT_CMDLINE,
    createdAt: ctx.clock(),
  };
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

/** Registers the image built by scripts/build-guest as `default`, once. */
export async function ensureDefaultImage(ctx: CoreContext): Promise<void> {
  const dir = ctx.config.defaultImageDir;
  if (ctx.images.get(DEFAULT_IMAGE) || !dir) return;
  const manifestPath = join(dir, "manifest.json");
  if (!existsSync(manifestPath)) {
    ctx.logger.warn("default guest image not built; run scripts/build-guest", { dir });
    return;
  }
  const manifest = (await Bun.file(manifestPath).json()) as { cmdline?: string };
  await registerImage(ctx, {
    name: DEFAULT_IMAGE,
    kernel: join(dir, "vmlinuz"),
    initrd: join(dir, "initrd.img"),
    rootfs: join(dir, "rootfs.ext4"),
    cmdline: manifest.cmdline,
  });
  ctx.logger.info("registered default guest image", { dir });
}
