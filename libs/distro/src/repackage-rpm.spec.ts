import { promises as fs } from 'fs';
import os from 'os';
import path from 'path';
import execa from 'execa';
import { identifyPackage, repackageDistroKernel } from './index';
import { FixturePackage, buildFakeModules, buildRpm, fakeBzImage, hasCommand, readTar, useTempDirs } from './testing/package-fixtures';

const RELEASE = '9.9.9-100.fc99.x86_64';
const VERSION = '9.9.9-100.fc99';
const MTIME = 1_700_000_000;
const modulesDir = `lib/modules/${RELEASE}`;

/** Fedora's split: kernel-core (boot files beside the modules), kernel-modules, kernel-devel, kernel-headers. */
function fedoraKernelPackages(modules: { provider: Buffer; user: Buffer }): FixturePackage[] {
  const devel = `usr/src/kernels/${RELEASE}`;
  return [
    {
      name: 'kernel-core',
      version: VERSION,
      arch: 'x86_64',
      files: {
        [`${modulesDir}/vmlinuz`]: fakeBzImage(RELEASE),
        [`${modulesDir}/.vmlinuz.hmac`]: 'hmac\n',
        [`${modulesDir}/System.map`]: 'ffffffff81000000 T _stext\n',
        [`${modulesDir}/config`]: 'CONFIG_MODULES=y\n',
        [`${modulesDir}/modules.builtin`]: 'kernel/fs/ext4/ext4.ko\n',
        [`${modulesDir}/kernel/lib/fake_provider.ko`]: modules.provider,
      },
    },
    { name: 'kernel-modules', version: VERSION, arch: 'x86_64', files: { [`${modulesDir}/kernel/fs/fake_user.ko`]: modules.user } },
    {
      name: 'kernel-devel',
      version: VERSION,
      arch: 'x86_64',
      files: {
        [`${devel}/Makefile`]: 'VERSION = 9\n',
        [`${devel}/.config`]: 'CONFIG_MODULES=y\n',
        [`${devel}/Module.symvers`]: '0x00000000\tfake_symbol\tvmlinux\tEXPORT_SYMBOL\t\n',
        [`${devel}/include/linux/module.h`]: '/* module.h */\n',
        [`${devel}/scripts/Makefile.build`]: '# build\n',
        [`${devel}/scripts/Makefile.modpost`]: { symlink: `/${devel}/scripts/Makefile.build` },
        [`${devel}/scripts/basic/fixdep`]: { executable: '#!/bin/sh\n' },
        [`${modulesDir}/build`]: { symlink: `/${devel}` },
      },
    },
    { name: 'kernel-headers', version: VERSION, arch: 'x86_64', files: { 'usr/include/linux/types.h': '/* types */\n', 'usr/include/asm/types.h': '/* asm */\n' } },
  ];
}

describe('repackageDistroKernel with Fedora-style .rpm packages (built here with rpmbuild)', () => {
  const temp = useTempDirs();
  let shared: string;
  let rpms: string[] = [];
  let skipReason: string | undefined;

  beforeAll(async () => {
    const missing = [];
    for (const command of ['rpmbuild', 'rpm2cpio', 'cpio']) if (!(await hasCommand(command))) missing.push(command);
    if (missing.length > 0) {
      skipReason = `${missing.join(', ')} not installed (apt-get install rpm cpio)`;
      return;
    }
    shared = await fs.mkdtemp(path.join(os.tmpdir(), 'distro-rpms-spec-'));
    const packages = fedoraKernelPackages(await buildFakeModules(shared));
    rpms = [];
    for (const pkg of packages) rpms.push(await buildRpm(shared, pkg));
  }, 60_000);
  afterAll(() => (shared ? fs.rm(shared, { recursive: true, force: true }) : undefined));

  const skipped = () => {
    if (skipReason) console.warn(`skipping the .rpm test: ${skipReason}`);
    return skipReason !== undefined;
  };

  it('reads name, version and arch from the rpm header as rpm does', async () => {
    if (skipped()) return;
    const identity = await identifyPackage(rpms[0]);
    expect(identity).toEqual({ file: rpms[0], format: 'rpm', name: 'kernel-core', version: VERSION, arch: 'x86_64' });
    const { stdout } = await execa('rpm', ['-qp', '--qf', '%{NAME} %{VERSION}-%{RELEASE} %{ARCH}', rpms[0]]);
    expect(stdout).toBe(`${identity.name} ${identity.version} ${identity.arch}`);
  });

  it('unpacks the payloads with rpm2cpio | cpio and writes the same layout as for Debian', async () => {
    if (skipped()) return;
    const outDir = path.join(await temp.make(), 'artifacts');
    const result = await repackageDistroKernel({ packages: rpms, outDir, arch: 'x86_64', mtime: MTIME });

    expect(result.release).toBe(RELEASE);
    expect((await fs.readFile(path.join(outDir, 'kernel'))).subarray(0x202, 0x206).toString()).toBe('HdrS');
    expect(await fs.readFile(path.join(outDir, 'System.map'), 'utf8')).toBe('ffffffff81000000 T _stext\n');
    expect(JSON.parse(await fs.readFile(path.join(outDir, 'build.json'), 'utf8'))).toMatchObject({ release: RELEASE, builder: `distro:rpm:kernel-core=${VERSION}` });

    const modules = await readTar(path.join(outDir, 'kernel.tar'));
    expect(modules.get(`${modulesDir}/modules.dep`)?.content?.toString()).toContain('kernel/fs/fake_user.ko: kernel/lib/fake_provider.ko');
    expect(modules.get(`${modulesDir}/build`)).toMatchObject({ type: 'SymbolicLink', linkpath: `/usr/src/linux-headers-${RELEASE}` });
    for (const bootFile of ['vmlinuz', '.vmlinuz.hmac', 'System.map', 'config']) expect(modules.has(`${modulesDir}/${bootFile}`)).toBe(false);

    const dev = await readTar(path.join(outDir, 'kernel-dev.tar'));
    const headers = `usr/src/linux-headers-${RELEASE}`;
    expect(dev.get(`${headers}/Makefile`)?.content?.toString()).toBe('VERSION = 9\n');
    expect(dev.get(`${headers}/scripts/basic/fixdep`)?.type).toBe('File');
    // An absolute link into /usr/src/kernels/<release> becomes relative inside the renamed tree.
    expect(dev.get(`${headers}/scripts/Makefile.modpost`)).toMatchObject({ type: 'SymbolicLink', linkpath: 'Makefile.build' });

    expect([...(await readTar(path.join(outDir, 'kernel-headers.tar'))).keys()].sort()).toEqual([
      'usr/',
      'usr/include/',
      'usr/include/asm/',
      'usr/include/asm/types.h',
      'usr/include/linux/',
      'usr/include/linux/types.h',
    ]);
  });

  it('refuses a .rpm set without kernel-core', async () => {
    if (skipped()) return;
    await expect(repackageDistroKernel({ packages: rpms.slice(1), outDir: path.join(await temp.make(), 'out'), arch: 'x86_64', mtime: MTIME })).rejects.toThrow(
      /^no kernel image among the packages: kernel-modules /,
    );
  });
});
