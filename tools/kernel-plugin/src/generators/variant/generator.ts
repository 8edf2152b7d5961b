import { logger, Tree } from '@nx/devkit';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { KERNELS_DIR, loadKernelProjects } from '@linuxkit-kernels/spec';

interface Options {
  directory: string;
  debug?: boolean;
}

/** The series a variant directory extends: the longest kernels/<dir> it starts with, followed by '-'. */
export function seriesOfVariant(directory: string, known: string[]): { series: string; name: string } | undefined {
  const series = known.filter((dir) => directory.startsWith(`${dir}-`)).sort((a, b) => b.length - a.length)[0];
  return series ? { series, name: directory.slice(series.length + 1) } : undefined;
}

/** nx g @linuxkit-kernels/nx-plugin:variant 6.12-foo: kernels/6.12-foo with an empty fragment (an EXTRA flavour). */
export default function variantGenerator(tree: Tree, options: Options): void {
  const known = loadKernelProjects(tree.root).map((project) => project.dir);
  const parsed = seriesOfVariant(String(options.directory), known);
  if (!parsed) throw new KernelBuildError(`'${options.directory}' does not start with a series and a dash`, `name it <series>-<name> with a series from: ${known.join(', ')}`);
  if (!/^[a-z0-9][a-z0-9.-]*$/.test(parsed.name)) throw new KernelBuildError(`variant name '${parsed.name}' must be lower-case letters, digits, '.' and '-'`, 'e.g. nx g @linuxkit-kernels/nx-plugin:variant 6.12-foo');
  const variant = { ...options, ...parsed };
  const dir = `${KERNELS_DIR}/${options.directory}`;
  if (tree.exists(`${dir}/kernel.yaml`)) throw new KernelBuildError(`${dir}/kernel.yaml already exists`, 'pick another name');
  const fragments = options.debug ? ['../common/config-dbg'] : [`config-${variant.name}`];
  tree.write(
    `${dir}/kernel.yaml`,
    [`# ${options.debug ? 'Debug variant' : 'EXTRA flavour'} of ${variant.series}: tagged <ver>-${variant.name}.`, `extends: "${variant.series}"`, `fragments: [${fragments.join(', ')}]`, ...(options.debug ? ['debug: true'] : []), ''].join('\n'),
  );
  if (!options.debug) tree.write(`${dir}/config-${variant.name}`, `# Options of the -${variant.name} flavour, e.g. CONFIG_FOO=y; each must survive olddefconfig.\n`);
  logger.info(`created ${dir}: nx run kernel-${options.directory}:configure checks its fragment`);
}
