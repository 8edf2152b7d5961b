import { KernelProject } from '@linuxkit-kernels/spec';
import { kernelProjectConfiguration, kernelTargets } from './plugin';

const project: KernelProject = {
  name: 'kernel-6.12-dbg',
  dir: '6.12-dbg',
  root: 'kernels/6.12-dbg',
  file: 'kernels/6.12-dbg/kernel.yaml',
  chain: ['6.12-dbg', '6.12'],
  base: '6.12',
  version: '6.12.118',
  source: { kind: 'apt', package: 'linux-source-6.12', version: '1', file: 'usr/src/x.tar.xz', sha256: 'a'.repeat(64) },
  arches: ['x86_64', 'aarch64'],
  localversion: '-linuxkit-dbg',
  tagSuffix: '-dbg',
  configRoot: 'kernels/6.12',
  fixedPoint: false,
  fragments: ['kernels/common/config-dbg'],
  patchDirs: ['kernels/6.12-dbg/patches', 'kernels/6.12/patches'],
  patchSets: [],
  debug: true,
  test: { modules: [], commands: [], timeoutSeconds: 300 },
};

describe('kernel targets', () => {
  const targets = kernelTargets(project, { defaultArch: 'x86_64', registry: '', org: '' });

  it('chains the steps and forwards --arch to each dependency', () => {
    expect(targets.build.dependsOn).toEqual([{ target: 'package', params: 'forward' }]);
    expect(targets.package.dependsOn).toEqual([{ target: 'compile', params: 'forward' }]);
    expect(targets.compile.dependsOn).toEqual([{ target: 'configure', params: 'forward' }]);
    // configure fetches and patches itself, so an all-cached build starts no uncached task.
    expect(targets.configure.dependsOn).toBeUndefined();
    expect(targets.patch.dependsOn).toEqual([{ target: 'fetch', params: 'forward' }]);
    expect(targets.test.dependsOn).toEqual([{ target: 'package', params: 'forward' }]);
  });

  it('caches only final artifacts, per arch, and never the work trees', () => {
    expect(targets.fetch.cache).toBe(false);
    expect(targets.patch.cache).toBe(false);
    expect(targets.compile.outputs).toEqual(['{workspaceRoot}/dist/kernels/6.12-dbg/{options.arch}/artifacts']);
    expect(targets.package.outputs).toEqual(['{workspaceRoot}/dist/kernels/6.12-dbg/{options.arch}/oci', '{workspaceRoot}/dist/kernels/6.12-dbg/{options.arch}/image.json']);
  });

  it('hashes the variant, its base, the shared inputs and the toolchain, and not npm dependencies', () => {
    expect(targets.compile.inputs).toEqual(
      expect.arrayContaining([
        '{projectRoot}/**/*',
        '{workspaceRoot}/kernels/6.12/**/*',
        '{workspaceRoot}/kernels/common/**/*',
        '{workspaceRoot}/libs/*/src/**/*',
        { externalDependencies: [] },
        expect.objectContaining({ runtime: expect.stringContaining('aarch64-linux-gnu-gcc') }),
      ]),
    );
  });

  it('runs one compile and one boot at a time', () => {
    expect(targets.compile.parallelism).toBe(false);
    expect(targets.test.parallelism).toBe(false);
  });

  it('describes every target', () => {
    for (const target of Object.values(targets)) expect(target.metadata?.description).toEqual(expect.any(String));
    expect(targets.package.metadata?.description).toContain('6.12.118-dbg-<hash>');
  });

  it('makes the variant depend on its series in the graph', () => {
    const configuration = kernelProjectConfiguration(project, { defaultArch: 'x86_64', registry: '', org: '' });
    expect(configuration.implicitDependencies).toEqual(['kernel-6.12']);
    expect(configuration.tags).toEqual(['kernel', 'kernel:variant', 'kernel:6.12.118', 'arch:x86_64', 'arch:aarch64']);
  });
});

describe('publishing options', () => {
  it('passes the registry and org from nx.json to push and compile (the registry cache), not to other steps', () => {
    const targets = kernelTargets(project, { defaultArch: 'x86_64', registry: 'registry.example:5000', org: 'myorg' });
    expect(targets.push.options).toEqual({ arch: 'x86_64', pluginRegistry: 'registry.example:5000', pluginOrg: 'myorg' });
    expect(targets.compile.options).toEqual({ arch: 'x86_64', pluginRegistry: 'registry.example:5000', pluginOrg: 'myorg' });
    expect(targets.push.dependsOn).toEqual([{ target: 'package', params: 'forward' }]);
    expect(targets.push.cache).toBe(false);
  });
});
