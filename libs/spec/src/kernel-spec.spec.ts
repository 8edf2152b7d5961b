import { assertSafeDirName, imageTags, KernelYamlFile, parseKernelYaml, resolveKernelProjects } from './kernel-spec';

const SHA = 'c'.repeat(64);
const SERIES = `version: 6.12.118
source:
  kind: apt
  package: linux-source-6.12
  version: 6.12.118-1~deb12u1
  file: usr/src/linux-source-6.12.tar.xz
  sha256: ${SHA}
`;

const entry = (dir: string, text: string): KernelYamlFile => ({ dir, file: `kernels/${dir}/kernel.yaml`, yaml: parseKernelYaml(text, `kernels/${dir}/kernel.yaml`) });
const everythingExists = () => true;

describe('parseKernelYaml', () => {
  it('accepts a series with an apt source', () => {
    expect(parseKernelYaml(SERIES, 'k.yaml').source).toEqual(expect.objectContaining({ kind: 'apt', sha256: SHA }));
  });

  it('names the file, line and field of a bad sha256', () => {
    expect(() => parseKernelYaml(SERIES.replace(SHA, 'xyz'), 'kernels/6.12/kernel.yaml')).toThrow(/^kernels\/6\.12\/kernel\.yaml:7: source\.sha256: must match/);
  });

  it('names an unknown field with its line', () => {
    expect(() => parseKernelYaml(`${SERIES}archs: [x86_64]\n`, 'k.yaml')).toThrow("k.yaml:8: archs: unknown field 'archs'");
  });

  it('reports only the errors of the source kind that was chosen', () => {
    expect(() => parseKernelYaml('version: 6.1.1\nsource:\n  kind: kernel.org\n  sha256: ' + SHA + '\n', 'k.yaml')).toThrow("k.yaml:3: source: missing required field 'source.url'");
  });

  it('refuses a version that could smuggle shell or path syntax into tags', () => {
    expect(() => parseKernelYaml(SERIES.replace('version: 6.12.118', 'version: "6.12; rm -rf /"'), 'k.yaml')).toThrow(/k\.yaml:1: version: must match/);
  });

  it('refuses an unknown arch', () => {
    expect(() => parseKernelYaml(`${SERIES}arches: [x86_64, mips]\n`, 'k.yaml')).toThrow(/arches\.1: must be one of x86_64, aarch64, riscv64/);
  });

  it('reports YAML syntax errors with the line', () => {
    expect(() => parseKernelYaml('version: 6.1.1\nsource: [\n', 'k.yaml')).toThrow(/^k\.yaml:\d+: not valid YAML/);
  });
});

describe('resolveKernelProjects', () => {
  it('resolves a variant against its series: source, patches (own first), fragments, suffix and localversion', () => {
    const [series, variant] = resolveKernelProjects(
      [entry('6.12', SERIES), entry('6.12-dbg', 'extends: "6.12"\nfragments: [../common/config-dbg]\ndebug: true\n')],
      everythingExists,
    );
    expect(series).toEqual(expect.objectContaining({ name: 'kernel-6.12', tagSuffix: '', localversion: '-linuxkit', fixedPoint: true }));
    expect(variant).toEqual(
      expect.objectContaining({
        name: 'kernel-6.12-dbg',
        base: '6.12',
        version: '6.12.118',
        tagSuffix: '-dbg',
        localversion: '-linuxkit-dbg',
        configRoot: 'kernels/6.12',
        fixedPoint: false,
        fragments: ['kernels/common/config-dbg'],
        patchDirs: ['kernels/6.12-dbg/patches', 'kernels/6.12/patches'],
        chain: ['6.12-dbg', '6.12'],
        debug: true,
      }),
    );
    expect(imageTags(variant, 'abc123')).toEqual({ plain: '6.12.118-dbg', hashed: '6.12.118-dbg-abc123' });
  });

  it('makes a variant with its own full config a fixed point', () => {
    const [, virt] = resolveKernelProjects([entry('6.12', SERIES), entry('6.12-virt', 'extends: "6.12"\nconfig: own\n')], everythingExists);
    expect(virt).toEqual(expect.objectContaining({ configRoot: 'kernels/6.12-virt', fixedPoint: true, localversion: '-linuxkit-virt' }));
  });

  it('fails for a variant of a missing series, listing the known ones', () => {
    expect(() => resolveKernelProjects([entry('6.12', SERIES), entry('6.13-dbg', 'extends: "6.13"\n')], everythingExists)).toThrow(
      expect.objectContaining({ message: "kernels/6.13-dbg/kernel.yaml: extends '6.13', but there is no kernels/6.13/kernel.yaml", fix: 'extend one of: 6.12, 6.13-dbg' }),
    );
  });

  it('fails on a cycle, naming it', () => {
    expect(() => resolveKernelProjects([entry('a-x', 'extends: b-x\n'), entry('b-x', 'extends: a-x\n')], everythingExists)).toThrow(/cycle: a-x -> b-x -> a-x/);
  });

  it('asks for a suffix when the directory name does not extend the base name', () => {
    expect(() => resolveKernelProjects([entry('6.12', SERIES), entry('virt', 'extends: "6.12"\n')], everythingExists)).toThrow(/cannot derive the tag suffix/);
  });

  it('fails when an arch has no full config, naming the file', () => {
    expect(() => resolveKernelProjects([entry('6.12', SERIES)], (file) => !file.endsWith('config-aarch64'))).toThrow(
      'kernels/6.12/kernel.yaml: arch aarch64 has no full config kernels/6.12/config-aarch64',
    );
  });

  it('refuses fragments outside kernels/', () => {
    expect(() => resolveKernelProjects([entry('6.12', SERIES), entry('6.12-x', 'extends: "6.12"\nfragments: [../../etc/passwd]\n')], everythingExists)).toThrow(
      /points outside kernels\//,
    );
  });

  it('refuses version or source in a variant', () => {
    expect(() => resolveKernelProjects([entry('6.12', SERIES), entry('6.12-x', 'extends: "6.12"\nversion: 6.12.1\n')], everythingExists)).toThrow(/a variant inherits 'version'/);
  });
});

describe('directory names', () => {
  it('refuses a directory name that could inject into a command line', () => {
    expect(() => assertSafeDirName('kernels', '6.12;touch pwned')).toThrow(/kernels\/6\.12;touch pwned: directory name has characters other than/);
    expect(() => assertSafeDirName('kernels', '6.12-dbg')).not.toThrow();
  });
});
