import * as fs from 'fs';
import * as path from 'path';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { diffConfigs, formatDiffconfig, setOption } from '@linuxkit-kernels/kconfig';
import { detectToolchain, runMake } from '@linuxkit-kernels/kbuild';
import { preparePatchedSource, resolveStep, StepContext, withProjectLock } from './steps';

export const CONFIG_EDITORS = ['olddefconfig', 'oldconfig', 'menuconfig', 'nconfig'] as const;
export type ConfigEditor = (typeof CONFIG_EDITORS)[number];

/**
 * Opens the series' committed full config for one arch in a kconfig front end (or runs
 * olddefconfig after a version bump), then writes the result back to kernels/<dir>/config-<arch>
 * after a final olddefconfig, so `configure` passes right after. Edits happen in their own O= dir:
 * the compile build dir and its mtimes stay untouched.
 */
export function syncConfigStep(context: StepContext & { editor: ConfigEditor }): Promise<{ changed: boolean; diff: string }> {
  return withProjectLock(context, () => syncConfigLocked(context));
}

async function syncConfigLocked(context: StepContext & { editor: ConfigEditor }): Promise<{ changed: boolean; diff: string }> {
  const { project, arch, paths } = resolveStep(context);
  if (!CONFIG_EDITORS.includes(context.editor)) {
    throw new KernelBuildError(`unknown config editor '${context.editor}'`, `use one of ${CONFIG_EDITORS.join(', ')}`);
  }
  if (project.configRoot !== project.root) {
    const owner = `kernel-${path.posix.basename(project.configRoot)}`;
    throw new KernelBuildError(
      `${project.name} has no full config of its own: it uses ${project.configRoot}/config-${arch} plus fragments`,
      `edit the series' config with \`nx run ${owner}:${context.editor === 'olddefconfig' ? 'sync-config' : context.editor} --arch=${arch}\`, or edit the fragments in ${project.root}`,
    );
  }
  const committedPath = `${project.configRoot}/config-${arch}`;
  const committedFile = path.join(context.workspaceRoot, committedPath);
  const committed = fs.readFileSync(committedFile, 'utf8');
  const { srcDir } = await preparePatchedSource(context);
  const toolchain = await detectToolchain(arch);
  const editDir = path.join(paths.workRoot, 'edit', project.name, arch);
  fs.mkdirSync(editDir, { recursive: true });
  const configFile = path.join(editDir, '.config');
  fs.writeFileSync(configFile, setOption(committed, 'LOCALVERSION', JSON.stringify(project.localversion)));
  const make = (target: string, interactive: boolean) =>
    runMake({
      srcDir,
      buildDir: editDir,
      toolchain,
      targets: [target],
      jobs: 1,
      logFile: path.join(paths.logDir, 'sync-config.log'),
      signal: context.signal,
      interactive,
    });
  if (context.editor !== 'olddefconfig') await make(context.editor, true);
  await make('olddefconfig', false);
  const result = fs.readFileSync(configFile, 'utf8');
  const diff = formatDiffconfig(diffConfigs(committed, result));
  if (diff === '') {
    context.log(`${committedPath}: unchanged (already a fixed point)`);
    return { changed: false, diff };
  }
  fs.writeFileSync(`${committedFile}.tmp`, result);
  fs.renameSync(`${committedFile}.tmp`, committedFile);
  context.log(`${committedPath}: updated\n${diff}`);
  return { changed: true, diff };
}
