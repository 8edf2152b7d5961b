import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { addFileToStore, blobPath, ContentStore, hasBlob } from './content-store';
import { downloadToStore } from './download';
import { ensurePristineTree } from './pristine-tree';

/**
 * A set of patches from outside the repository, e.g. Preempt-RT: kernel.org's projects/rt
 * tarballs (patches/series + patches) or a Debian source package's debian/patches-rt.
 */
export type PatchSetSpec =
  | { kind: 'kernel.org'; url: string; sha256: string; dir?: string; exclude?: string[] }
  // The Debian packaging tarball of a source package (apt-get source --diff-only), e.g. linux_6.1.170-3.debian.tar.xz.
  | { kind: 'apt-source'; package: string; version: string; file: string; sha256: string; dir: string; exclude?: string[] };

export interface PatchSetPatch {
  name: string;
  path: string;
}

/** Puts the patch set's tarball into the store (verified); already there => no network. */
export async function fetchPatchSet(spec: PatchSetSpec, options: { store: ContentStore; log?: (line: string) => void; signal?: AbortSignal }): Promise<string> {
  if (await hasBlob(options.store, spec.sha256)) return blobPath(options.store, spec.sha256);
  if (spec.kind === 'kernel.org') return downloadToStore(options.store, spec.url, spec.sha256, { signal: options.signal });
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'patch-set-'));
  try {
    options.log?.(`apt-get source --download-only --diff-only ${spec.package}=${spec.version}`);
    const result = await execa('apt-get', ['source', '--download-only', '--diff-only', `${spec.package}=${spec.version}`], { cwd: scratch, reject: false });
    const file = path.join(scratch, spec.file);
    if (result.exitCode !== 0 || !fs.existsSync(file)) {
      throw new KernelBuildError(
        `apt cannot fetch ${spec.file} of source package ${spec.package}=${spec.version}`,
        'enable deb-src lines for apt (Types: deb-src) and run apt-get update, or move the patch set to a version apt has (apt-cache showsrc)',
        result.stderr.trim(),
      );
    }
    return await addFileToStore(options.store, file, spec.sha256);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** The quilt `series` order of a patch directory, minus comments, blank lines and excluded patches. */
export function parseQuiltSeries(text: string, exclude: readonly string[] = []): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim().split(/\s+/)[0])
    .filter((name): name is string => Boolean(name) && !exclude.includes(name));
}

/** Extracts the patch set once (shared) and lists its patches in series order. */
export async function patchSetPatches(spec: PatchSetSpec, tarball: string, workRoot: string, log?: (line: string) => void): Promise<PatchSetPatch[]> {
  const tree = await ensurePristineTree(tarball, spec.sha256, workRoot, { log });
  const dir = path.join(tree, spec.dir ?? '.');
  const seriesFile = path.join(dir, 'series');
  if (!fs.existsSync(seriesFile)) throw new KernelBuildError(`patch set ${spec.sha256.slice(0, 12)} has no ${spec.dir ?? '.'}/series`, 'point dir at the directory holding the quilt series file');
  const names = parseQuiltSeries(fs.readFileSync(seriesFile, 'utf8'), spec.exclude);
  for (const excluded of spec.exclude ?? []) {
    if (!fs.existsSync(path.join(dir, excluded))) throw new KernelBuildError(`patch set excludes ${excluded}, which it does not have`, 'remove it from exclude');
  }
  return names.map((name) => {
    if (name.includes('..') || path.isAbsolute(name)) throw new KernelBuildError(`patch set series names ${name}, outside its directory`, 'use another patch set');
    return { name: `${path.basename(spec.dir ?? 'patches')}/${name}`, path: path.join(dir, name) };
  });
}
