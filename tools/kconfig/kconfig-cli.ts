import * as fs from 'fs';
import * as path from 'path';
import { isKernelBuildError, KernelBuildError } from '@linuxkit-kernels/errors';
import { diffConfigs, formatDiffconfig, renderEntries, splitConfigs } from '@linuxkit-kernels/kconfig';
import { CONFIG_EDITORS, ConfigEditor, syncConfigStep } from '@linuxkit-kernels/pipeline';

export const USAGE = `usage:
  kconfig menuconfig|nconfig|oldconfig PROJECT [--arch=ARCH]
                                        edit kernels/<dir>/config-<arch> in your terminal; the result is
                                        written back as an olddefconfig fixed point (cross-arch works)
  kconfig split [--out DIR] CONFIG...   write DIR/common (options every CONFIG shares) and DIR/<name>
                                        (what only that CONFIG has); default DIR is the current one
  kconfig diff OLD NEW                  print what changed, in scripts/diffconfig format
`;

function readConfig(file: string): string {
  if (!fs.existsSync(file)) throw new KernelBuildError(`${file}: no such config file`, 'pass paths to .config files');
  return fs.readFileSync(file, 'utf8');
}

/** Output names per input: the basename, with the parent directory added where basenames clash (config-x86_64 twice). */
export function outputNames(files: string[]): string[] {
  const base = files.map((file) => path.basename(file));
  return files.map((file, index) =>
    base.filter((name) => name === base[index]).length > 1 ? `${path.basename(path.dirname(path.resolve(file)))}-${base[index]}` : base[index],
  );
}

/** The interactive editors need the user's terminal, which Nx keeps for itself: they run here. */
export async function runConfigEditor(argv: string[], workspaceRoot: string, out: (text: string) => void): Promise<number> {
  const [editor, project, ...rest] = argv;
  if (!project) throw new KernelBuildError(`kconfig ${editor} needs a project, e.g. kernel-6.12`, USAGE);
  const arch = rest.find((arg) => arg.startsWith('--arch='))?.slice('--arch='.length);
  await syncConfigStep({ workspaceRoot, projectName: project, arch, editor: editor as ConfigEditor, log: (line) => out(`${line}\n`) });
  return 0;
}

export function isConfigEditor(command: string | undefined): boolean {
  return CONFIG_EDITORS.includes(command as ConfigEditor) && command !== 'olddefconfig';
}

export function runKconfigCli(argv: string[], out: (text: string) => void): number {
  const [command, ...rest] = argv;
  if (command === 'diff') {
    if (rest.length !== 2) throw new KernelBuildError('kconfig diff needs exactly two config files', USAGE);
    out(formatDiffconfig(diffConfigs(readConfig(rest[0]), readConfig(rest[1]))));
    return 0;
  }
  if (command === 'split') {
    let outDir = '.';
    const files: string[] = [];
    for (let index = 0; index < rest.length; index++) {
      if (rest[index] === '--out' || rest[index] === '-o') outDir = rest[++index] ?? '';
      else if (rest[index].startsWith('--out=')) outDir = rest[index].slice('--out='.length);
      else files.push(rest[index]);
    }
    if (!outDir) throw new KernelBuildError('--out needs a directory', USAGE);
    if (files.length < 2) throw new KernelBuildError('kconfig split needs at least two config files', USAGE);
    const names = outputNames(files);
    if (new Set(names).size !== names.length) throw new KernelBuildError(`two inputs would write the same output name: ${names.join(', ')}`, 'rename one of the inputs');
    const split = splitConfigs(files.map((file, index) => ({ name: names[index], text: readConfig(file) })));
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, 'common'), renderEntries(split.common));
    out(`${path.join(outDir, 'common')}: ${split.common.length} options\n`);
    for (const [name, entries] of split.only) {
      fs.writeFileSync(path.join(outDir, name), renderEntries(entries));
      out(`${path.join(outDir, name)}: ${entries.length} options\n`);
    }
    return 0;
  }
  throw new KernelBuildError(command ? `unknown command '${command}'` : 'no command given', USAGE);
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const out = (text: string) => process.stdout.write(text);
  const fail = (error: unknown) => {
    process.stderr.write(`kconfig: ${isKernelBuildError(error) ? error.describe() : String(error)}\n`);
    process.exitCode = 2;
  };
  if (isConfigEditor(argv[0])) {
    runConfigEditor(argv, path.resolve(__dirname, '../..'), out).then((code) => (process.exitCode = code), fail);
  } else {
    try {
      process.exitCode = runKconfigCli(argv, out);
    } catch (error) {
      fail(error);
    }
  }
}
