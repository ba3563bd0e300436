// House rules that no single module can check for itself:
//  * the checkout stands alone: nothing in src/, test/, scripts/, .ci/, examples/ or the package.json scripts reaches
//    outside the repository (a fresh clone has nothing beside it);
//  * the import graph of src/ (product.md §1): no circle, layers only point down (plugin -> core -> hv | store -> fs),
//    hv and store never import each other, and core lives in its resource rooms.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, join, relative, resolve, sep } from "node:path";

const REPO = resolve(import.meta.dir, "..");
const SRC = join(REPO, "src");

/** Every file under `dir` (recursively), skipping installed packages. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : filesUnder(path);
    return entry.isFile() ? [path] : [];
  });
}

const rel = (path: string) => relative(REPO, path);
const insideRepo = (path: string) => path === REPO || path.startsWith(REPO + sep);

describe("the checkout stands alone", () => {
  const checkoutsDir = "/work/";
  const outsideMarkers = [
    { what: "a sibling checkout's shared/ dir", pattern: new RegExp(String.raw`\.\./shared\b`) },
    { what: `a path under ${checkoutsDir}, where other checkouts live`, pattern: new RegExp(escapeRegExp(checkoutsDir)) },
    { what: "this checkout's absolute path (a clone lives elsewhere)", pattern: new RegExp(escapeRegExp(REPO + "/")) },
  ];
  /** `..`, `../x`, `../../y/z`: relative paths whose start we can resolve against the file's own directory. */
  const RELATIVE_UP = /(?<![\w.\/$)}-])\.\.(?:\/\.\.)*(?:\/[\w.\-]+)*/g;

  /** Relative paths a file writes for another directory, resolved there instead of beside the file. */
  const WRITTEN_FOR: Record<string, { path: string; dir: string }> = {
    // the import lines it generates go into src/store/migrations.gen.ts
    "scripts/gen-migrations.ts": { path: "../../drizzle", dir: "src/store" },
  };

  /** Why `text` (relative paths resolved against `baseDir`) reaches outside the repository; empty if it does not. */
  function outsideReferences(text: string, baseDir: string, file?: string): string[] {
    const found: string[] = [];
    for (const { what, pattern } of outsideMarkers) if (pattern.test(text)) found.push(what);
    const writtenFor = file === undefined ? undefined : WRITTEN_FOR[rel(file)];
    for (const match of text.matchAll(RELATIVE_UP)) {
      const dir = match[0] === writtenFor?.path ? join(REPO, writtenFor.dir) : baseDir;
      const target = resolve(dir, match[0]);
      if (!insideRepo(target)) found.push(`"${match[0]}" resolves to ${target}, outside the repository`);
    }
    return found;
  }

  test("no file in src/, test/, scripts/, .ci/ or examples/ references a path outside the repository", () => {
    // This file is left out: it spells out the very paths it looks for.
    const files = ["src", "test", "scripts", ".ci", "examples"]
      .flatMap((dir) => filesUnder(join(REPO, dir)))
      .filter((file) => file !== import.meta.path);
    expect(files.length).toBeGreaterThan(100);
    const problems: string[] = [];
    for (const file of files) {
      const bytes = readFileSync(file);
      if (bytes.includes(0)) continue; // binary fixtures hold no paths we could follow
      const reasons = outsideReferences(bytes.toString("utf8"), dirname(file), file);
      problems.push(...reasons.map((reason) => `${rel(file)}: ${reason}`));
    }
    expect(problems).toEqual([]);
  });

  test("no package.json script references a path outside the repository", () => {
    const scripts: Record<string, string> = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).scripts ?? {};
    const problems = Object.entries(scripts).flatMap(([name, command]) =>
      outsideReferences(command, REPO).map((reason) => `scripts.${name}: ${reason}`),
    );
    expect(problems).toEqual([]);
  });

  test("the rule sees what it is meant to catch", () => {
    const contractDir = join(REPO, "test/contract");
    expect(outsideReferences(`join(import.meta.dir, "../../../shared/specs")`, contractDir).length).toBeGreaterThan(0);
    expect(outsideReferences(`readFileSync("${checkoutsDir}other-checkout/x.yaml")`, REPO)).toHaveLength(1);
    expect(outsideReferences(`readFileSync("${REPO}/test/x.yaml")`, REPO)).toContain(outsideMarkers[2]!.what);
    expect(outsideReferences(`cd "$(dirname "$0")/.."; cat ../../x`, join(REPO, "scripts"))).toHaveLength(1);
    expect(outsideReferences(`import { x } from "../../src/core/errors.ts"; join(dir, "..")`, contractDir)).toEqual([]);
  });
});

// ---- import graph of src/ ----

type Layer = "entry" | "plugin" | "core" | "hv" | "store" | "fs";
/** Higher imports lower, never the other way; equal ranks only within one layer (hv and store share a floor). */
const RANK: Record<Layer, number> = { entry: 4, plugin: 3, core: 2, hv: 1, store: 1, fs: 0 };
const CORE_ROOMS = ["instances", "snapshots", "schedules", "compression", "images", "network", "ingress", "service"];
const CORE_FILES = ["errors.ts", "tags.ts"];

/**
 * Relative module specifiers of one source file: static `import … from`, `export … from`, side-effect imports and
 * dynamic `import("…")`. `import type` edges count too: they bind modules together as much as value imports when
 * reading and moving code, and the graph has no circle even with them.
 */
function importSpecifiers(source: string): string[] {
  const statics = source.matchAll(/^\s*(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?["'](\.[^"']*)["']/gm);
  const dynamics = source.matchAll(/\bimport\(\s*["'](\.[^"']*)["']\s*\)/g);
  return [...statics, ...dynamics].map((m) => m[1]!);
}

function resolveModule(fromFile: string, specifier: string): string | undefined {
  const base = resolve(dirname(fromFile), specifier);
  return [base, `${base}.ts`, join(base, "index.ts")].find((p) => existsSync(p) && statSync(p).isFile());
}

function layerOf(file: string): Layer {
  const top = relative(SRC, file).split(sep)[0]!;
  return top in RANK && top !== "entry" ? (top as Layer) : "entry";
}

interface ImportGraph {
  edges: Map<string, string[]>;
  unresolved: string[];
}

function srcImportGraph(): ImportGraph {
  const modules = filesUnder(SRC).filter((f) => [".ts", ".tsx"].includes(extname(f)));
  const edges = new Map<string, string[]>();
  const unresolved: string[] = [];
  for (const file of modules) {
    const targets: string[] = [];
    for (const specifier of importSpecifiers(readFileSync(file, "utf8"))) {
      const target = resolveModule(file, specifier);
      if (target) targets.push(target);
      else unresolved.push(`${rel(file)} -> ${specifier}`);
    }
    edges.set(file, targets);
  }
  return { edges, unresolved };
}

/** One circle per strongly connected component that has one (Tarjan), each as `a -> b -> … -> a`. */
function importCircles(edges: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const circles: string[][] = [];
  let next = 0;
  const visit = (node: string) => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const target of edges.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component = new Set<string>();
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.add(member);
    } while (member !== node);
    if (component.size > 1 || edges.get(node)?.includes(node)) circles.push(circleWithin(edges, component, node));
  };
  for (const node of edges.keys()) if (!index.has(node)) visit(node);
  return circles;
}

/** A shortest path from `start` back to itself inside one component (breadth-first). */
function circleWithin(edges: Map<string, string[]>, component: Set<string>, start: string): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let head = 0; head < queue.length; head++) {
    const node = queue[head]!;
    for (const target of edges.get(node) ?? []) {
      if (!component.has(target)) continue;
      if (target === start) {
        const path = [start];
        for (let at: string | undefined = node; at !== start && at !== undefined; at = cameFrom.get(at)) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!cameFrom.has(target)) {
        cameFrom.set(target, node);
        queue.push(target);
      }
    }
  }
  return [start, start];
}

/** Why importing `to` from `from` breaks the layering, or nothing. */
function layerProblem(from: string, to: string): string | undefined {
  // Files outside src/ (test helpers beside unit tests, embedded SQL) are not a layer.
  if (!to.startsWith(SRC + sep)) return undefined;
  const [a, b] = [layerOf(from), layerOf(to)];
  if (a === b) return undefined;
  if ((a === "hv" && b === "store") || (a === "store" && b === "hv")) {
    return `${a} imports ${b}: they share a floor and never import each other`;
  }
  if (RANK[b] >= RANK[a]) return `${a} imports ${b}: imports point down, plugin -> core -> hv | store -> fs`;
  return undefined;
}

function outsideCoreRooms(file: string): boolean {
  const [top, room, ...rest] = relative(SRC, file).split(sep);
  if (top !== "core") return false;
  if (rest.length === 0) return !CORE_FILES.includes(room!) && !room!.endsWith(".test.ts");
  return !CORE_ROOMS.includes(room!);
}

describe("the import graph of src/", () => {
  const graph = srcImportGraph();
  const edgeList = [...graph.edges].flatMap(([from, targets]) => targets.map((to) => [from, to] as const));

  test("the walk sees the whole tree and resolves every relative import", () => {
    expect(graph.edges.size).toBeGreaterThan(100);
    expect(edgeList.length).toBeGreaterThan(300);
    expect(graph.unresolved).toEqual([]);
  });

  test("has no import circle", () => {
    const circles = importCircles(graph.edges).map((circle) => circle.map(rel).join(" -> "));
    expect(circles).toEqual([]);
  });

  test("imports only point down the layers, and hv and store never import each other", () => {
    const problems = edgeList.flatMap(([from, to]) => {
      const problem = layerProblem(from, to);
      return problem ? [`${rel(from)} -> ${rel(to)}: ${problem}`] : [];
    });
    expect(problems).toEqual([]);
  });

  test("core is grouped by resource: every core module sits in a room", () => {
    const strays = [...graph.edges.keys()].filter(outsideCoreRooms).map(rel);
    expect(strays).toEqual([]);
  });

  test("the checks catch what they are meant to catch", () => {
    const [a, b, c] = ["instances/a.ts", "service/b.ts", "snapshots/c.ts"].map((f) => join(SRC, "core", f)) as [string, string, string];
    const graphOf = (edges: [string, string[]][]) => new Map(edges);
    expect(importCircles(graphOf([[a, [b]], [b, [c]], [c, [a]]]))).toEqual([[a, b, c, a]]);
    expect(importCircles(graphOf([[a, [b]], [b, [c]], [c, []]]))).toEqual([]);
    expect(layerProblem(join(SRC, "hv/qemu/x.ts"), join(SRC, "store/paths.ts"))).toContain("never import each other");
    expect(layerProblem(join(SRC, "core/instances/x.ts"), join(SRC, "plugin/errors.ts"))).toContain("point down");
    expect(layerProblem(join(SRC, "fs/atomic.ts"), join(SRC, "store/paths.ts"))).toContain("point down");
    expect(layerProblem(join(SRC, "plugin/app.ts"), join(SRC, "fs/atomic.ts"))).toBeUndefined();
    expect(outsideCoreRooms(join(SRC, "core/fork.ts"))).toBe(true);
    expect(outsideCoreRooms(join(SRC, "core/instances/fork.ts"))).toBe(false);
    const source = [
      `import type { A } from "./a.ts";`,
      `export * from "../b.ts";`,
      `const m = await import("./c.ts");`,
      `import {\n  d,\n  type E,\n} from "./d.ts";`,
    ].join("\n");
    expect(importSpecifiers(source)).toEqual(["./a.ts", "../b.ts", "./d.ts", "./c.ts"]);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
