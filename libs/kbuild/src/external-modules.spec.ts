import { assertSameCompiler, recordedCompiler } from './external-modules';
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
