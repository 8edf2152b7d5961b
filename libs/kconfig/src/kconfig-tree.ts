import * as fs from 'fs';
import * as path from 'path';
import { EnclosingCondition, KconfigDefinition, parseKconfigFile, ParsedKconfigFile } from './kconfig-language';

/** Every Kconfig file of a kernel tree, parsed, with its definitions by symbol. Paths are relative to the tree. */
export interface KconfigTree {
  root: string;
  files: Map<string, ParsedKconfigFile>;
  definitionsBySymbol: Map<string, KconfigDefinition[]>;
}

/** For one architecture: the Kconfig files its configuration includes, each with the conditions it is sourced under. */
export type ReachableKconfigFiles = Map<string, EnclosingCondition[]>;

const TOP_LEVEL_KCONFIG = 'Kconfig';

/** The kernel's SRCARCH for an arch named the kernel's way (x86, arm64) or the `uname -m` way (x86_64, aarch64). */
export function sourceArchOf(karch: string): string {
  const aliases: Record<string, string> = {
    x86_64: 'x86',
    i386: 'x86',
    i686: 'x86',
    amd64: 'x86',
    aarch64: 'arm64',
    riscv64: 'riscv',
    riscv32: 'riscv',
    ppc64le: 'powerpc',
    ppc64: 'powerpc',
    s390x: 's390',
  };
  return aliases[karch] ?? karch;
}

export function buildKconfigTree(root: string, files: readonly ParsedKconfigFile[]): KconfigTree {
  const definitionsBySymbol = new Map<string, KconfigDefinition[]>();
  for (const file of files) {
    for (const definition of file.definitions) {
      const known = definitionsBySymbol.get(definition.symbol);
      if (known) known.push(definition);
      else definitionsBySymbol.set(definition.symbol, [definition]);
    }
  }
  return { root, files: new Map(files.map((file) => [file.file, file])), definitionsBySymbol };
}

const reachableByTree = new WeakMap<KconfigTree, Map<string, ReachableKconfigFiles>>();

/** Follows `source` statements from the top-level Kconfig, as kconfig does for `ARCH=<karch>`; computed once per tree and arch. */
export function reachableKconfigFiles(tree: KconfigTree, karch: string): ReachableKconfigFiles {
  const srcarch = sourceArchOf(karch);
  const byArch = reachableByTree.get(tree) ?? new Map<string, ReachableKconfigFiles>();
  reachableByTree.set(tree, byArch);
  const known = byArch.get(srcarch);
  if (known) return known;
  const reachable: ReachableKconfigFiles = new Map();
  byArch.set(srcarch, reachable);
  const visit = (file: string, inherited: EnclosingCondition[]) => {
    const parsed = tree.files.get(file);
    if (!parsed || reachable.has(file)) return;
    reachable.set(file, inherited);
    for (const source of parsed.sources) {
      const written = source.path.replace(/\$\((SRCARCH|ARCH)\)/g, srcarch);
      const target = path.posix.normalize(source.relativeToFile ? path.posix.join(path.posix.dirname(file), written) : written);
      visit(target, [...inherited, ...source.enclosing]);
    }
  };
  visit(TOP_LEVEL_KCONFIG, []);
  return reachable;
}

// Synchronous on purpose: a kernel tree has ~5,000 directories, and one promise per readdir makes the
// walk three times slower; the index is built once per tree and process.
function findKconfigFiles(root: string, directory = ''): string[] {
  return fs.readdirSync(path.join(root, directory), { withFileTypes: true }).flatMap((entry) => {
    const relative = directory === '' ? entry.name : `${directory}/${entry.name}`;
    if (entry.isDirectory()) return entry.name.startsWith('.') ? [] : findKconfigFiles(root, relative);
    return entry.isFile() && entry.name.startsWith('Kconfig') ? [relative] : [];
  });
}

function readKconfigTree(root: string): KconfigTree {
  const parsed = findKconfigFiles(root).map((file) => parseKconfigFile(fs.readFileSync(path.join(root, file), 'utf8'), file));
  return buildKconfigTree(root, parsed);
}

const treesByRoot = new Map<string, Promise<KconfigTree>>();

/** Reads and parses a kernel tree's Kconfig files once per process; later calls for the same tree share the result. */
export function loadKconfigTree(srcTree: string): Promise<KconfigTree> {
  const root = path.resolve(srcTree);
  let tree = treesByRoot.get(root);
  if (!tree) {
    tree = Promise.resolve().then(() => readKconfigTree(root));
    treesByRoot.set(root, tree);
    tree.catch(() => treesByRoot.delete(root));
  }
  return tree;
}
