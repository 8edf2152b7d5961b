import { constants, promises as fs } from 'fs';
import path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { isDirectory } from './move-tree';
import { PackageIdentity } from './package-identity';
import { describePackage } from './repackage-plan';
import { RootPath, resolveInRoot } from './root-path';

export interface HeadersTreeRequest {
  /** The root all the packages were unpacked into; the header trees are moved out of it. */
  root: string;
  /** Root-relative tree named for the release (usr/src/linux-headers-<release> or usr/src/kernels/<release>). */
  headersTree: string;
  /** Every header tree the packages ship, with its package. */
  headerTreeOwners: Map<string, PackageIdentity>;
  /** The directory to create: one self-contained tree. */
  destination: string;
  log: (line: string) => void;
}

const TREE_PATTERN = /^usr\/src\/(?:linux-headers-[^/]+|kernels\/[^/]+)/;
const INCLUDE_LINE = /^[ \t]*-?include[ \t]+(\/\S+)[ \t]*$/;

/** A symlink found in a tree, resolved inside the root while the trees are still where the packages put them. */
interface TreeLink {
  tree: string;
  /** Relative to the tree (and so to the destination). */
  relative: string;
  text: string;
  resolved: RootPath;
}

/** Absolute paths a Makefile includes: Debian's per-flavour Makefile is one line including -common's. */
function absoluteIncludes(makefile: string): Array<{ line: string; target: string }> {
  return makefile.split('\n').flatMap((line) => {
    const match = INCLUDE_LINE.exec(line);
    return match ? [{ line, target: match[1].slice(1) }] : [];
  });
}

async function linksIn(root: string, tree: string): Promise<TreeLink[]> {
  if (!(await isDirectory(path.join(root, tree)))) {
    throw new KernelBuildError(`/${tree} is not a directory in the packages (a symlink?), so it cannot be merged`, 'report the packages to their distribution');
  }
  const found: TreeLink[] = [];
  const walk = async (relative: string): Promise<void> => {
    for (const entry of await fs.readdir(path.join(root, tree, relative), { withFileTypes: true })) {
      const child = relative ? `${relative}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(child);
      if (!entry.isSymbolicLink()) continue;
      const text = await fs.readlink(path.join(root, tree, child));
      found.push({ tree, relative: child, text, resolved: await resolveInRoot(root, `${tree}/${child}`) });
    }
  };
  await walk('');
  return found;
}

async function readTextIfFile(file: string): Promise<string | undefined> {
  const stat = await fs.lstat(file).catch(() => undefined);
  return stat?.isFile() ? fs.readFile(file, 'utf8') : undefined;
}

function ownerOf(request: HeadersTreeRequest, tree: string): string {
  const owner = request.headerTreeOwners.get(tree);
  return owner ? describePackage(owner) : `/${tree}`;
}

/**
 * The trees the release's tree uses, through its top Makefile's includes and its symlinks (and
 * theirs in turn), with every symlink they hold: on Debian, linux-headers-<release> uses
 * linux-headers-<version>-common. A tree used but not shipped, or shipped but not used, means
 * packages of different kernels.
 */
async function treesInUse(request: HeadersTreeRequest): Promise<{ trees: string[]; links: TreeLink[] }> {
  const { root, headersTree, headerTreeOwners } = request;
  const trees = [headersTree];
  const links: TreeLink[] = [];
  for (let index = 0; index < trees.length; index++) {
    const tree = trees[index];
    const makefile = (await readTextIfFile(path.join(root, tree, 'Makefile'))) ?? '';
    const treeLinks = await linksIn(root, tree);
    links.push(...treeLinks);
    const references = [
      ...absoluteIncludes(makefile).map(({ target }) => ({ via: `${tree}/Makefile includes /${target}`, target })),
      ...treeLinks.map((link) => ({ via: `${tree}/${link.relative} -> ${link.text}`, target: link.resolved.path })),
    ];
    for (const { via, target } of references) {
      const used = TREE_PATTERN.exec(target)?.[0];
      if (used === undefined || trees.includes(used)) continue;
      if (!headerTreeOwners.has(used)) {
        throw new KernelBuildError(
          `${ownerOf(request, tree)} needs /${used}, which none of the packages ships (${via})`,
          `add the package that ships it (on Debian: ${path.basename(used)}, of the same version as the image)`,
        );
      }
      trees.push(used);
    }
  }
  const unused = [...headerTreeOwners.keys()].filter((tree) => !trees.includes(tree)).sort();
  if (unused.length > 0) {
    throw new KernelBuildError(
      `mixed releases: /${unused[0]} from ${ownerOf(request, unused[0])} is not used by /${headersTree} (which uses ${trees.map((tree) => `/${tree}`).join(', ')})`,
      `pass only the headers packages of the image's kernel: drop ${headerTreeOwners.get(unused[0])?.name}`,
    );
  }
  return { trees, links };
}

async function sameFileContent(a: string, b: string): Promise<boolean> {
  const [first, second] = await Promise.all([fs.readFile(a), fs.readFile(b)]);
  return first.equals(second);
}

/**
 * Merges header trees into one directory and makes it self-contained: a symlink into one of the
 * merged trees becomes a relative link inside the result; a link to anything else (Debian's
 * `scripts -> ../../lib/linux-kbuild-6.1/scripts`) is replaced by a copy of what it points to.
 * The trees are moved, not copied: Debian's -common alone is ten thousand files.
 */
class HeadersTreeMerge {
  /** Root-relative source → absolute destination; the longest match wins. */
  private readonly mappings: Array<{ from: string; to: string }>;
  private readonly links = new Map<string, TreeLink>();

  constructor(
    private readonly request: HeadersTreeRequest,
    trees: string[],
    links: TreeLink[],
  ) {
    this.mappings = trees.map((tree) => ({ from: tree, to: request.destination }));
    for (const link of links) this.links.set(`${link.tree}/${link.relative}`, link);
  }

  /** Moves `trees` into the destination in this order, then replaces the symlinks that ended up there. */
  async run(trees: string[]): Promise<void> {
    const { destination } = this.request;
    await fs.mkdir(path.dirname(destination), { recursive: true });
    for (const tree of trees) await this.moveInto(tree, '');
    const placed = new Map<string, TreeLink>();
    for (const tree of trees) for (const link of this.links.values()) if (link.tree === tree) placed.set(link.relative, link);
    for (const relative of [...placed.keys()].sort()) await this.replaceLink(placed.get(relative) as TreeLink, path.join(destination, relative));
  }

  private destinationOf(resolved: string): string | undefined {
    const match = this.mappings
      .filter(({ from }) => resolved === from || resolved.startsWith(`${from}/`))
      .sort((a, b) => b.from.length - a.from.length)[0];
    return match && path.join(match.to, resolved.slice(match.from.length));
  }

  private conflict(tree: string, relative: string, what: string): KernelBuildError {
    return new KernelBuildError(
      `cannot merge the header trees: ${relative} from ${ownerOf(this.request, tree)} ${what}`,
      'pass the headers packages of one kernel build (their files must agree where the trees overlap)',
    );
  }

  /** Renames `tree/relative` into the destination, merging directories and settling overlaps. */
  private async moveInto(tree: string, relative: string): Promise<void> {
    const source = path.join(this.request.root, tree, relative);
    const target = path.join(this.request.destination, relative);
    const existing = await fs.lstat(target).catch(() => undefined);
    if (!existing) {
      await fs.rename(source, target);
      return;
    }
    const stat = await fs.lstat(source);
    if (stat.isDirectory() && existing.isDirectory()) {
      for (const name of (await fs.readdir(source)).sort()) await this.moveInto(tree, relative ? `${relative}/${name}` : name);
      return;
    }
    if (stat.isSymbolicLink() && existing.isSymbolicLink()) {
      // Both Debian trees link scripts/ to linux-kbuild: one is enough when they agree.
      const earlier = [...this.links.values()].find((link) => link.relative === relative && link.tree !== tree);
      if (earlier?.resolved.path === this.links.get(`${tree}/${relative}`)?.resolved.path) {
        this.links.delete(`${tree}/${relative}`);
        return;
      }
      throw this.conflict(tree, relative, `points elsewhere than the same symlink in ${ownerOf(this.request, earlier?.tree ?? '')}`);
    }
    if (stat.isFile() && existing.isFile() && ((await sameFileContent(source, target)) || (await this.inlineInclude(source, target)))) return;
    throw this.conflict(tree, relative, 'differs from the one another headers package ships');
  }

  /**
   * A Makefile that includes, by absolute path, the file already at its own place (Debian's
   * linux-headers-<release>/Makefile including linux-headers-<version>-common/Makefile) gets that
   * file in place of the include line: what make would read, with no path outside the tree.
   */
  private async inlineInclude(source: string, target: string): Promise<boolean> {
    const text = await fs.readFile(source, 'utf8');
    for (const { line, target: included } of absoluteIncludes(text)) {
      const resolved = await resolveInRoot(this.request.root, included);
      // The included tree has already been moved: map its name, not what is left in the root.
      if (this.destinationOf(resolved.path) !== target) continue;
      const content = await fs.readFile(target, 'utf8');
      await fs.writeFile(target, text.replace(line, () => content.replace(/\n$/, '')));
      return true;
    }
    return false;
  }

  private async replaceLink(link: TreeLink, at: string): Promise<void> {
    const relative = path.relative(this.request.destination, at);
    const inside = this.destinationOf(link.resolved.path);
    if (inside !== undefined) {
      const value = path.relative(path.dirname(at), inside) || '.';
      if (!link.resolved.exists) this.request.log(`keeping dangling symlink ${relative} -> ${link.text}: it dangles in the package too`);
      await fs.rm(at);
      await fs.symlink(value, at);
      return;
    }
    if (!link.resolved.exists) {
      const kbuild = /^usr\/lib\/(linux-kbuild-[^/]+)/.exec(link.resolved.path)?.[1];
      const owner = this.request.headerTreeOwners.get(link.tree);
      throw new KernelBuildError(
        `${ownerOf(this.request, link.tree)}: ${relative} is a symlink to ${link.text} (/${link.resolved.path}), which none of the packages ships`,
        kbuild
          ? `add the ${kbuild} package of the same version (linux-headers depends on it: \`apt-cache depends ${owner?.name ?? 'linux-headers-<release>'}\`)`
          : `add the package that ships /${link.resolved.path}`,
      );
    }
    if (this.mappings.some(({ from }) => from.startsWith(`${link.resolved.path}/`))) {
      throw new KernelBuildError(`${relative} is a symlink to ${link.text} (/${link.resolved.path}), which contains the headers tree itself`, 'report the packages to their distribution');
    }
    await fs.rm(at);
    this.mappings.push({ from: link.resolved.path, to: at });
    await this.copyExternal(link.resolved.path, at);
  }

  /** Copies what an outside link points to (kbuild's scripts/ and tools/), resolving its own links the same way. */
  private async copyExternal(from: string, to: string): Promise<void> {
    const source = path.join(this.request.root, from);
    const stat = await fs.lstat(source);
    if (stat.isDirectory()) {
      await fs.mkdir(to, { mode: stat.mode & 0o7777 });
      for (const name of (await fs.readdir(source)).sort()) await this.copyExternal(`${from}/${name}`, path.join(to, name));
    } else if (stat.isSymbolicLink()) {
      const text = await fs.readlink(source);
      await fs.symlink(text, to);
      await this.replaceLink({ tree: from, relative: path.relative(this.request.destination, to), text, resolved: await resolveInRoot(this.request.root, from) }, to);
    } else if (stat.isFile()) {
      await fs.copyFile(source, to, constants.COPYFILE_FICLONE);
      await fs.chmod(to, stat.mode & 0o7777);
    }
  }
}

/**
 * Writes `destination`: the release's header tree merged with the trees it uses (Debian's -common),
 * self-contained, so `make -C <it> M=…` builds an out-of-tree module wherever it is unpacked.
 * The trees leave the root; whatever their symlinks point to outside them stays.
 */
export async function assembleHeadersTree(request: HeadersTreeRequest): Promise<void> {
  const { trees, links } = await treesInUse(request);
  // The release's own tree last: its files refine the shared ones (Debian's Makefile includes -common's).
  const order = [...trees.slice(1).sort(), trees[0]];
  await new HeadersTreeMerge(request, trees, links).run(order);
  for (const expected of ['Makefile', '.config', 'Module.symvers']) {
    const present = await fs.lstat(path.join(request.destination, expected)).then(() => true, () => false);
    if (!present) request.log(`note: the headers have no ${expected}; out-of-tree module builds may need it`);
  }
}
