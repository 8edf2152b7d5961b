import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import execa from 'execa';
import { assertModuleMatchesRelease, assertSameCompiler, recordedCompiler } from './external-modules';
import { builderReference, Toolchain } from './toolchain';

const toolchain: Toolchain = {
  arch: 'x86_64',
  crossCompile: '',
  gcc: 'gcc',
  gccVersion: 'gcc (Debian 12.2.0-14+deb12u1) 12.2.0',
  binutilsVersion: 'GNU ld (GNU Binutils for Debian) 2.40',
  ccache: true,
};

describe('the builder check for out-of-tree modules', () => {
  it('reads back the compiler it recorded', () => {
    expect(recordedCompiler(builderReference(toolchain))).toBe('gcc (Debian 12.2.0-14+deb12u1) 12.2.0');
  });

  it('accepts the compiler that built the kernel', () => {
    expect(() => assertSameCompiler(builderReference(toolchain), toolchain)).not.toThrow();
  });

  it('refuses another compiler, naming both', () => {
    const other = { ...toolchain, gccVersion: 'gcc (Debian 14.2.0-19) 14.2.0' };
    expect(() => assertSameCompiler(builderReference(toolchain), other)).toThrow(
      "the kernel was built with 'gcc (Debian 12.2.0-14+deb12u1) 12.2.0', but this machine's gcc is 'gcc (Debian 14.2.0-19) 14.2.0'",
    );
  });

  it('has nothing to compare for kernels built elsewhere', () => {
    expect(() => assertSameCompiler('distro:debian:linux-image-6.1.0-28-cloud-amd64=6.1.119-1', toolchain)).not.toThrow();
  });
});

describe('the release check for built modules', () => {
  let dir: string;
  let ko: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vermagic-'));
    // A real ELF object with a .modinfo section, which is all modinfo reads: a module built for 6.1.0-test.
    const source = path.join(dir, 'fake.c');
    fs.writeFileSync(
      source,
      [
        'static const char vermagic[] __attribute__((section(".modinfo"), used, aligned(1))) = "vermagic=6.1.0-test SMP mod_unload ";',
        'static const char name[] __attribute__((section(".modinfo"), used, aligned(1))) = "name=fake";',
        '',
      ].join('\n'),
    );
    ko = path.join(dir, 'fake.ko');
    await execa('gcc', ['-c', source, '-o', ko]);
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('accepts a module whose vermagic names the kernel', async () => {
    await expect(assertModuleMatchesRelease(ko, '6.1.0-test')).resolves.toBeUndefined();
  });

  it('refuses a module built for another kernel version, naming both and the fix', async () => {
    const refusal = assertModuleMatchesRelease(ko, '6.12.118-linuxkit-virt', 'run nx run module-fake:build');
    await expect(refusal).rejects.toThrow(`${ko} was built for kernel 6.1.0-test, not 6.12.118-linuxkit-virt`);
    await expect(refusal).rejects.toMatchObject({ fix: 'run nx run module-fake:build' });
  });

  it('refuses a file that is not a module, and one that is missing', async () => {
    await expect(assertModuleMatchesRelease(path.join(dir, 'fake.c'), '6.1.0-test')).rejects.toThrow(/fake\.c is not a kernel module/);
    await expect(assertModuleMatchesRelease(path.join(dir, 'gone.ko'), '6.1.0-test')).rejects.toThrow(/gone\.ko does not exist/);
  });
});
