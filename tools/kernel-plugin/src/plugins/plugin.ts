import type { CreateNodesV2, ProjectConfiguration, TargetConfiguration } from '@nx/devkit';
import { hostKernelArch } from '@linuxkit-kernels/kbuild';
import { isKernelBuildError } from '@linuxkit-kernels/errors';
import {
  DISTRO_DIR,
  DistroProject,
  distPath,
  KernelProject,
  KERNELS_DIR,
  loadDistroProjects,
  loadKernelProjects,
  loadModuleProjects,
  ModuleProject,
  MODULES_DIR,
} from '@linuxkit-kernels/spec';

export interface KernelPluginOptions {
  /** Arch built when --arch is not given; defaults to the host's. */
  defaultArch?: string;
  /** Registry host[:port] images are pushed to and pulled from (KERNEL_REGISTRY and --registry override it). */
  registry?: string;
  /** Repository namespace, default linuxkit (KERNEL_ORG and --org override it). */
  org?: string;
}

const EXECUTOR = '@linuxkit-kernels/nx-plugin';
const TECHNOLOGIES = ['linux-kernel'];

/** What every kernel build reads besides its own directories: shared inputs and our build code. */
export const SHARED_INPUTS = [
  `{workspaceRoot}/${KERNELS_DIR}/common/**/*`,
  '{workspaceRoot}/tools/kernel-plugin/src/**/*',
  '!{workspaceRoot}/tools/kernel-plugin/src/**/*.spec.ts',
  '{workspaceRoot}/libs/*/src/**/*',
  '!{workspaceRoot}/libs/*/src/**/*.spec.ts',
  '!{workspaceRoot}/libs/*/src/**/__fixtures__/**/*',
];

/** The compiler is part of what a kernel is built from; the lockfile is not (externalDependencies: []). */
export const TOOLCHAIN_INPUT = {
  runtime: 'for cc in gcc aarch64-linux-gnu-gcc riscv64-linux-gnu-gcc x86_64-linux-gnu-gcc; do $cc --version 2>/dev/null | head -n1; done; ld --version | head -n1',
};

export function normalizePluginOptions(options: KernelPluginOptions | undefined): Required<KernelPluginOptions> {
  return { defaultArch: options?.defaultArch ?? hostKernelArch(), registry: options?.registry ?? '', org: options?.org ?? '' };
}

function publishDefaults(options: Required<KernelPluginOptions>): Record<string, string> {
  return { ...(options.registry ? { pluginRegistry: options.registry } : {}), ...(options.org ? { pluginOrg: options.org } : {}) };
}

function kernelInputs(project: KernelProject): TargetConfiguration['inputs'] {
  return [
    '{projectRoot}/**/*',
    ...project.chain.slice(1).map((dir) => `{workspaceRoot}/${KERNELS_DIR}/${dir}/**/*`),
    ...SHARED_INPUTS,
    TOOLCHAIN_INPUT,
    { externalDependencies: [] },
  ];
}

function step(
  project: KernelProject,
  name: string,
  description: string,
  config: Partial<TargetConfiguration>,
  options: Required<KernelPluginOptions>,
): TargetConfiguration {
  return {
    executor: `${EXECUTOR}:${name}`,
    options: { arch: options.defaultArch },
    inputs: kernelInputs(project),
    metadata: { description, technologies: TECHNOLOGIES },
    ...config,
  };
}

const forward = (target: string) => [{ target, params: 'forward' as const }];

/** The targets of one kernel project, from fetch to the boot test. */
export function kernelTargets(project: KernelProject, options: Required<KernelPluginOptions>): Record<string, TargetConfiguration> {
  const dist = `{workspaceRoot}/${distPath(project, '{options.arch}')}`;
  const arches = project.arches.join(', ');
  return {
    fetch: step(project, 'fetch', `Fetch and verify the ${project.version} source into the shared store`, { cache: false }, options),
    patch: step(
      project,
      'patch',
      `Apply ${project.patchDirs.join(' then ')} with zero fuzz onto the extracted source`,
      { cache: false, dependsOn: forward('fetch') },
      options,
    ),
    configure: step(
      project,
      'configure',
      project.fixedPoint
        ? `Check ${project.configRoot}/config-<arch> is an olddefconfig fixed point (${arches})`
        : `Apply ${project.fragments.length} fragment(s) to ${project.configRoot}/config-<arch> and check every option survived`,
      // No dependsOn patch: configure and compile bring the tree up to date themselves under the
      // project lock, so a cached build runs no uncached fetch and patch tasks.
      { cache: true, outputs: [`${dist}/config`] },
      options,
    ),
    compile: step(
      project,
      'compile',
      `make all out of tree (O=) with ccache, then modules_install, headers_install and the kernel-dev tree`,
      // Two make -jN at once on N cores only thrash: compile tasks run one at a time.
      { cache: true, parallelism: false, dependsOn: forward('configure'), outputs: [`${dist}/artifacts`], options: { arch: options.defaultArch, ...publishDefaults(options) } },
      options,
    ),
    package: step(
      project,
      'package',
      `Write the LinuxKit kernel image (OCI layout) tagged ${project.version}${project.tagSuffix} and ${project.version}${project.tagSuffix}-<hash>`,
      {
        cache: true,
        dependsOn: forward('compile'),
        outputs: [`${dist}/oci`, `${dist}/image.json`],
        // The -dirty mark depends on git state, which file hashes cannot see.
        inputs: [...(kernelInputs(project) ?? []), { runtime: `git status --porcelain --untracked-files=all -- ${KERNELS_DIR}/common tools/kernel-plugin libs ${project.chain.map((dir) => `${KERNELS_DIR}/${dir}`).join(' ')}` }],
      },
      options,
    ),
    build: {
      executor: 'nx:noop',
      dependsOn: forward('package'),
      cache: true,
      inputs: kernelInputs(project),
      options: { arch: options.defaultArch },
      metadata: { description: `Build the ${project.name} image for one arch (--arch=${project.arches.join('|')})`, technologies: TECHNOLOGIES },
    },
    perf: step(
      project,
      'perf',
      `Build a static perf from the patched source and package it as the kernel-perf image (/usr/bin/perf), tagged like the kernel`,
      { cache: true, parallelism: false, dependsOn: [...forward('package')], outputs: [`${dist}/perf-oci`, `${dist}/perf-image.json`] },
      options,
    ),
    'perf-test': step(
      project,
      'perf-test',
      'Boot the kernel with the kernel-perf image and run perf --version and perf stat in the VM',
      { cache: true, parallelism: false, dependsOn: forward('perf'), outputs: [`${dist}/perf-boot.log`] },
      options,
    ),
    push: {
      executor: `${EXECUTOR}:push`,
      cache: false,
      dependsOn: forward('package'),
      options: { arch: options.defaultArch, ...publishDefaults(options) },
      metadata: {
        description: `Push the ${project.version}${project.tagSuffix} image for one arch to the registry (KERNEL_REGISTRY, --registry, --org) and merge it into the multi-arch index`,
        technologies: TECHNOLOGIES,
      },
    },
    'push-index': {
      executor: `${EXECUTOR}:push-index`,
      cache: false,
      options: { ...publishDefaults(options) },
      metadata: { description: `Join the per-arch images pushed with --index=false into the ${project.arches.join('+')} index (the last CI job)`, technologies: TECHNOLOGIES },
    },
    'lint-patches': {
      executor: `${EXECUTOR}:lint-patches`,
      cache: true,
      inputs: [`{workspaceRoot}/${project.patchDirs[0]}/**/*`, '{workspaceRoot}/libs/patches/src/**/*', '!{workspaceRoot}/libs/patches/src/**/*.spec.ts', { externalDependencies: [] }],
      outputs: [],
      options: {},
      metadata: { description: `Check ${project.patchDirs[0]} against the patch rules (git am format, Signed-off-by, numbering, cherry-pick -x, Origin)`, technologies: TECHNOLOGIES },
    },
    'rebase-patches': {
      executor: `${EXECUTOR}:rebase-patches`,
      cache: false,
      options: {},
      metadata: { description: `Rebase ${project.patchDirs[0]} onto a new linux-stable tag (--repo, --to) and export them back`, technologies: TECHNOLOGIES },
    },
    test: step(
      project,
      'test',
      `Boot the packaged kernel in qemu with a busybox initramfs; modprobe ${project.test.modules.join(', ') || 'nothing'} and check uname -r`,
      { cache: true, parallelism: false, dependsOn: forward('package'), outputs: [`${dist}/boot.log`] },
      options,
    ),
  };
}

/** Config maintenance targets, only where the project owns its full configs. */
function configEditTargets(project: KernelProject, options: Required<KernelPluginOptions>): Record<string, TargetConfiguration> {
  if (project.configRoot !== project.root) return {};
  // menuconfig/nconfig/oldconfig need the terminal, which Nx keeps for itself: `npm run kconfig -- menuconfig <project>`.
  return {
    'sync-config': {
      executor: `${EXECUTOR}:sync-config`,
      cache: false,
      dependsOn: forward('patch'),
      options: { arch: options.defaultArch },
      metadata: { description: `Refresh ${project.root}/config-<arch> with olddefconfig (after a version bump) and print what changed`, technologies: TECHNOLOGIES },
    },
  };
}

export function kernelProjectConfiguration(project: KernelProject, options: Required<KernelPluginOptions>): ProjectConfiguration {
  return {
    name: project.name,
    root: project.root,
    projectType: 'application',
    tags: ['kernel', project.base ? 'kernel:variant' : 'kernel:series', `kernel:${project.version}`, ...project.arches.map((arch) => `arch:${arch}`)],
    implicitDependencies: project.base ? [`kernel-${project.base}`] : [],
    metadata: {
      description: `Linux ${project.version}${project.tagSuffix} (${project.arches.join(', ')})${project.base ? `, extends kernel-${project.base}` : ''}`,
      technologies: TECHNOLOGIES,
    },
    targets: { ...kernelTargets(project, options), ...configEditTargets(project, options) },
  };
}

/** Nx prints only an error's message when a plugin fails: fold the fix and details into it. */
function loadProjectsForGraph(workspaceRoot: string): { kernels: KernelProject[]; modules: ModuleProject[]; distros: DistroProject[] } {
  try {
    const kernels = loadKernelProjects(workspaceRoot);
    return { kernels, modules: loadModuleProjects(workspaceRoot, kernels.map((kernel) => kernel.dir)), distros: loadDistroProjects(workspaceRoot) };
  } catch (error) {
    if (isKernelBuildError(error)) throw new Error(error.describe());
    throw error;
  }
}

/** An out-of-tree module: built against its kernel image's kernel-dev.tar, then inserted in a boot. */
export function moduleProjectConfiguration(module: ModuleProject, options: Required<KernelPluginOptions>): ProjectConfiguration {
  const kernelProject = `kernel-${module.kernel}`;
  const dist = `{workspaceRoot}/dist/${MODULES_DIR}/${module.dir}/{options.arch}`;
  // The kernel image's files are what the module is built from: hash them, not the kernel's sources.
  const inputs = ['{projectRoot}/**/*', ...SHARED_INPUTS, TOOLCHAIN_INPUT, { dependentTasksOutputFiles: '**/*' }, { externalDependencies: [] }];
  return {
    name: module.name,
    root: module.root,
    projectType: 'library',
    tags: ['kernel-module'],
    implicitDependencies: [kernelProject],
    metadata: { description: `Out-of-tree module(s) ${module.modules.join(', ')} for ${kernelProject}`, technologies: TECHNOLOGIES },
    targets: {
      build: {
        executor: `${EXECUTOR}:kmod`,
        options: { arch: options.defaultArch },
        cache: true,
        inputs,
        dependsOn: [{ projects: [kernelProject], target: 'package', params: 'forward' }],
        outputs: [dist, `${dist}-image`, `${dist}-modules.tar`],
        metadata: { description: `Compile ${module.sourceDir} against ${kernelProject}'s /kernel-dev.tar (never the full tree)`, technologies: TECHNOLOGIES },
      },
      test: {
        executor: `${EXECUTOR}:kmod-test`,
        options: { arch: options.defaultArch },
        cache: true,
        parallelism: false,
        inputs,
        dependsOn: [{ target: 'build', params: 'forward' }],
        outputs: [`${dist}-boot.log`],
        metadata: { description: `Boot ${kernelProject} in qemu, insmod ${module.modules.join(', ')}${module.test.expect ? ` and look for "${module.test.expect}" in dmesg` : ''}`, technologies: TECHNOLOGIES },
      },
    },
  };
}

/** A distribution's kernel packages repackaged into our image layout, then booted like ours. */
export function distroProjectConfiguration(distro: DistroProject): ProjectConfiguration {
  const dist = `{workspaceRoot}/dist/${DISTRO_DIR}/${distro.dir}`;
  const inputs = ['{projectRoot}/**/*', ...SHARED_INPUTS, { externalDependencies: [] }];
  return {
    name: distro.name,
    root: distro.root,
    projectType: 'application',
    tags: ['kernel', 'kernel:distro', `arch:${distro.arch}`],
    metadata: { description: `Repackaged distribution kernel: ${distro.packages[0]}`, technologies: TECHNOLOGIES },
    targets: {
      build: {
        executor: `${EXECUTOR}:distro`,
        cache: true,
        inputs,
        outputs: [`${dist}/artifacts`, `${dist}/oci`],
        options: {},
        metadata: { description: `apt-get download ${distro.packages.length} package(s), repackage them (depmod, kernel-dev.tar) and write the image`, technologies: TECHNOLOGIES },
      },
      test: {
        executor: `${EXECUTOR}:distro-test`,
        cache: true,
        parallelism: false,
        inputs,
        dependsOn: ['build'],
        outputs: [`${dist}/boot.log`],
        options: {},
        metadata: { description: `Boot the repackaged kernel in qemu; modprobe ${distro.test.modules.join(', ') || 'nothing'}`, technologies: TECHNOLOGIES },
      },
    },
  };
}

/** One Nx project per kernels/<dir>/kernel.yaml (variants resolved against their bases) and per modules/<dir>/module.yaml. */
export const createNodesV2: CreateNodesV2<KernelPluginOptions> = [
  `{${KERNELS_DIR}/*/kernel.yaml,${MODULES_DIR}/*/module.yaml,${DISTRO_DIR}/*/distro.yaml}`,
  (files, rawOptions, context) => {
    const options = normalizePluginOptions(rawOptions);
    const { kernels, modules, distros } = loadProjectsForGraph(context.workspaceRoot);
    return files.map((file) => {
      const kernel = kernels.find((candidate) => candidate.file === file);
      const module = modules.find((candidate) => candidate.file === file);
      const distro = distros.find((candidate) => candidate.file === file);
      const configuration = kernel
        ? kernelProjectConfiguration(kernel, options)
        : module
          ? moduleProjectConfiguration(module, options)
          : distro
            ? distroProjectConfiguration(distro)
            : undefined;
      return [file, configuration ? { projects: { [configuration.root]: configuration } } : {}] as const;
    });
  },
];

export const createNodes = createNodesV2;
