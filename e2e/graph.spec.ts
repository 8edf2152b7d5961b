import * as fs from 'fs';
import * as path from 'path';
import { createTempWorkspace, TempWorkspace } from './support/temp-workspace';

// Projects, targets, hashed inputs and the affected graph, asserted through the real nx CLI over a
// temp workspace with the shipped 6.12 series, its virt variant and a fragment-only flavour.
describe('kernel projects in the Nx graph', () => {
  let workspace: TempWorkspace;

  beforeAll(async () => {
    workspace = await createTempWorkspace('graph');
    workspace.copyKernel('6.12');
    workspace.copyKernel('6.12-virt');
    workspace.copyKernel('6.1');
    workspace.write('kernels/6.12-foo/kernel.yaml', 'extends: "6.12"\nfragments: [config-foo]\n');
    workspace.write('kernels/6.12-foo/config-foo', 'CONFIG_CRC_ITU_T=y\n');
    workspace.write('kernels/6.12/patches/0001-example.patch', 'placeholder, never applied in this test\n');
    workspace.write('README.md', '# temp\n');
    await workspace.commitAll('base');
  }, 120_000);

  afterAll(() => workspace?.dispose());

  const affected = async (...files: string[]): Promise<string[]> => {
    const result = await workspace.nx(['show', 'projects', '--affected', `--files=${files.join(',')}`, '--json']);
    return (JSON.parse(result.stdout) as string[]).filter((name) => name.startsWith('kernel-')).sort();
  };

  it('makes one project per kernels/<dir>/kernel.yaml and none for kernels/common', async () => {
    const result = await workspace.nx(['show', 'projects', '--json']);
    const projects = (JSON.parse(result.stdout) as string[]).filter((name) => name.startsWith('kernel-')).sort();
    expect(projects).toEqual(['kernel-6.1', 'kernel-6.12', 'kernel-6.12-foo', 'kernel-6.12-virt']);
  });

  it('gives each kernel the pipeline targets, each with a description', async () => {
    const result = await workspace.nx(['show', 'project', 'kernel-6.12-foo', '--json']);
    const project = JSON.parse(result.stdout);
    expect(Object.keys(project.targets)).toEqual(expect.arrayContaining(['fetch', 'patch', 'configure', 'compile', 'package', 'build', 'test']));
    for (const [name, target] of Object.entries<{ metadata?: { description?: string } }>(project.targets)) {
      expect([name, target.metadata?.description]).toEqual([name, expect.stringMatching(/\w{3,}/)]);
    }
    expect(project.implicitDependencies).toEqual(['kernel-6.12']);
    expect(project.targets.configure.metadata.description).toMatch(/1 fragment/);
  });

  it('hashes the project, its base, kernels/common and the build code, but not the lockfile or other series', async () => {
    const result = await workspace.nx(['show', 'target', 'inputs', 'kernel-6.12-foo:compile', '--json']);
    const files: string[] = JSON.parse(result.stdout).files;
    expect(files).toEqual(
      expect.arrayContaining([
        'kernels/6.12-foo/config-foo',
        'kernels/6.12/config-x86_64',
        'kernels/6.12/patches/0001-example.patch',
        'kernels/common/kernel.org-keyring.asc',
        'libs/kbuild/src/make.ts',
        'tools/kernel-plugin/src/plugins/plugin.ts',
      ]),
    );
    expect(files.filter((file) => file.startsWith('kernels/6.1/') || file.startsWith('kernels/6.12-virt/'))).toEqual([]);
    expect(files.filter((file) => file.endsWith('.spec.ts') || file === 'package-lock.json' || file === 'package.json')).toEqual([]);
  });

  it('affects a series and its variants when one of its patches changes', async () => {
    expect(await affected('kernels/6.12/patches/0001-example.patch')).toEqual(['kernel-6.12', 'kernel-6.12-foo', 'kernel-6.12-virt']);
  });

  it('affects only the variant when the variant changes', async () => {
    expect(await affected('kernels/6.12-foo/config-foo')).toEqual(['kernel-6.12-foo']);
  });

  it('affects every kernel when kernels/common, a lib or the plugin changes', async () => {
    const all = ['kernel-6.1', 'kernel-6.12', 'kernel-6.12-foo', 'kernel-6.12-virt'];
    expect(await affected('kernels/common/kernel.org-keyring.asc')).toEqual(all);
    expect(await affected('libs/kconfig/src/merge.ts')).toEqual(all);
    expect(await affected('tools/kernel-plugin/src/plugins/plugin.ts')).toEqual(all);
  });

  it('affects no kernel when only the lockfile or the README changes', async () => {
    expect(await affected('package-lock.json')).toEqual([]);
    expect(await affected('README.md')).toEqual([]);
  });

  it('affects the projects of a committed change with --base/--head', async () => {
    workspace.write('kernels/6.1/patches/0001-other.patch', 'placeholder\n');
    await workspace.commitAll('touch 6.1');
    const result = await workspace.nx(['show', 'projects', '--affected', '--base=HEAD~1', '--head=HEAD', '--json']);
    expect((JSON.parse(result.stdout) as string[]).filter((name) => name.startsWith('kernel-'))).toEqual(['kernel-6.1']);
  });

  it('draws variants as dependents of their series in nx graph', async () => {
    await workspace.nx(['graph', '--file=graph.json']);
    const graph = JSON.parse(fs.readFileSync(path.join(workspace.root, 'graph.json'), 'utf8')).graph;
    const targetsOf = (name: string) => (graph.dependencies[name] as { target: string }[]).map((dependency) => dependency.target);
    expect(targetsOf('kernel-6.12-foo')).toEqual(['kernel-6.12']);
    expect(targetsOf('kernel-6.12-virt')).toEqual(['kernel-6.12']);
    expect(targetsOf('kernel-6.12')).toEqual([]);
  });
});

describe('bad kernel.yaml', () => {
  let workspace: TempWorkspace;

  beforeEach(async () => {
    workspace = await createTempWorkspace('badyaml');
    workspace.copyKernel('6.12');
  });

  afterEach(() => workspace?.dispose());

  const graphError = async (): Promise<string> => {
    const result = await workspace.nx(['show', 'projects'], { reject: false });
    expect(result.exitCode).not.toBe(0);
    return result.all ?? '';
  };

  it('names the file, line and field of a schema violation', async () => {
    const text = fs.readFileSync(path.join(workspace.root, 'kernels/6.12/kernel.yaml'), 'utf8').replace(/sha256: \w+/, 'sha256: nothex');
    workspace.write('kernels/6.12/kernel.yaml', text);
    expect(await graphError()).toMatch(/kernels\/6\.12\/kernel\.yaml:\d+: source\.sha256: must match/);
  });

  it('names an unknown field', async () => {
    workspace.write('kernels/6.12-x/kernel.yaml', 'extends: "6.12"\nfragmnts: [a]\n');
    expect(await graphError()).toMatch(/kernels\/6\.12-x\/kernel\.yaml:2: fragmnts: unknown field 'fragmnts'/);
  });

  it('names a variant that extends a missing series and lists the known ones', async () => {
    workspace.write('kernels/6.13-dbg/kernel.yaml', 'extends: "6.13"\n');
    expect(await graphError()).toMatch(/kernels\/6\.13-dbg\/kernel\.yaml: extends '6\.13', but there is no kernels\/6\.13\/kernel\.yaml[\s\S]*6\.12/);
  });

  it('names a cycle of extends', async () => {
    workspace.write('kernels/a-x/kernel.yaml', 'extends: b-x\nsuffix: -x\n');
    workspace.write('kernels/b-x/kernel.yaml', 'extends: a-x\nsuffix: -y\n');
    expect(await graphError()).toMatch(/'extends' forms a cycle: (a-x -> b-x -> a-x|b-x -> a-x -> b-x)/);
  });

  it('reports YAML syntax errors with the line', async () => {
    workspace.write('kernels/6.12/kernel.yaml', 'version: 6.12.1\nsource: [unclosed\n');
    expect(await graphError()).toMatch(/kernels\/6\.12\/kernel\.yaml:\d+: not valid YAML/);
  });
});
