import * as fs from 'fs';
import * as os from 'os';
import { spawn } from 'child_process';
import { makeCommand, makeLauncher, stopOrphanedMake } from './make';
import { composeConfig } from './configure';
import { Toolchain } from './toolchain';
import { crossCompilePrefix, kernelArchProfile } from './arch';

const toolchain = (overrides: Partial<Toolchain>): Toolchain => ({
  arch: 'x86_64',
  crossCompile: '',
  gcc: 'gcc',
  gccVersion: 'gcc 12',
  binutilsVersion: 'ld 2.40',
  ccache: false,
  ...overrides,
});

describe('makeCommand', () => {
  it('builds a native x86_64 kernel out of tree with pinned build identity', () => {
    const { args, env } = makeCommand({ srcDir: '/w/src', buildDir: '/w/build', toolchain: toolchain({}), targets: ['all'], jobs: 2 });
    expect(args).toEqual(['-C', '/w/src', 'O=/w/build', 'ARCH=x86', 'KCFLAGS=-ffile-prefix-map=/w/src/= -ffile-prefix-map=/w/build/=', '-j2', 'all']);
    expect(env).toEqual(expect.objectContaining({ KBUILD_BUILD_USER: 'linuxkit', KBUILD_BUILD_HOST: 'linuxkit', KBUILD_BUILD_TIMESTAMP: '1970-01-01T00:00:00Z', ARCH: 'x86', CROSS_COMPILE: '' }));
  });

  it('cross-compiles aarch64 through ccache', () => {
    const { args, env } = makeCommand({
      srcDir: '/s',
      buildDir: '/b',
      toolchain: toolchain({ arch: 'aarch64', crossCompile: 'aarch64-linux-gnu-', gcc: 'aarch64-linux-gnu-gcc', ccache: true }),
      targets: ['modules_install'],
      variables: { INSTALL_MOD_PATH: '/stage' },
      jobs: 4,
      ccacheBaseDir: '/w',
    });
    expect(args).toEqual([
      '-C',
      '/s',
      'O=/b',
      'ARCH=arm64',
      'CROSS_COMPILE=aarch64-linux-gnu-',
      'CC=ccache aarch64-linux-gnu-gcc',
      'HOSTCC=ccache gcc',
      'KCFLAGS=-ffile-prefix-map=/s/= -ffile-prefix-map=/b/=',
      '-j4',
      'INSTALL_MOD_PATH=/stage',
      'modules_install',
    ]);
    expect(env.CCACHE_BASEDIR).toBe('/w');
  });
});

describe('arch profiles', () => {
  it('names the kernel image each arch boots', () => {
    expect(kernelArchProfile('x86_64').bootImage).toBe('arch/x86/boot/bzImage');
    expect(kernelArchProfile('aarch64').bootImage).toBe('arch/arm64/boot/Image.gz');
  });

  it('refuses an unknown arch with the list of known ones', () => {
    expect(() => kernelArchProfile('mips')).toThrow(expect.objectContaining({ message: "unknown arch 'mips'", fix: expect.stringContaining('x86_64, aarch64, riscv64') }));
  });

  it('cross-compiles only when the arch differs from the host', () => {
    expect(crossCompilePrefix('aarch64', 'x86_64')).toBe('aarch64-linux-gnu-');
    expect(crossCompilePrefix('x86_64', 'x86_64')).toBe('');
  });
});

describe('composeConfig', () => {
  it('appends fragments, forces LOCALVERSION and reports overrides with file:line', () => {
    const composed = composeConfig({
      committed: { path: 'kernels/6.1/config-x86_64', text: 'CONFIG_A=y\n# CONFIG_EXPERT is not set\nCONFIG_LOCALVERSION="-linuxkit"\n' },
      fragments: [{ path: 'kernels/6.1-rt/config-rt', text: 'CONFIG_EXPERT=y\n' }],
      localversion: '-linuxkit-rt',
    });
    expect(composed.text).toContain('CONFIG_EXPERT=y');
    expect(composed.text).toContain('CONFIG_LOCALVERSION="-linuxkit-rt"');
    expect(composed.overrides).toEqual(['CONFIG_EXPERT: kernels/6.1/config-x86_64:2 (=n) overridden by kernels/6.1-rt/config-rt:1 (=y)']);
  });
});

describe('stopOrphanedMake', () => {
  it('kills the make process group recorded in the build dir and forgets it', async () => {
    const dir = fs.mkdtempSync(`${os.tmpdir()}/orphan-`);
    fs.writeFileSync(`${dir}/Makefile`, 'all:\n\tsleep 60\n');
    const orphan = spawn('make', ['-C', dir], { detached: true, stdio: 'ignore' });
    const exited = new Promise((resolve) => orphan.on('exit', resolve));
    fs.writeFileSync(`${dir}/.kbuild-make.pid`, `${orphan.pid}\n`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    stopOrphanedMake(dir);
    await expect(exited).resolves.toBeDefined();
    expect(fs.existsSync(`${dir}/.kbuild-make.pid`)).toBe(false);
  });
});

describe('makeLauncher', () => {
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('stops make, and makes it delete the target it was writing, when its parent is SIGKILLed', async () => {
    const dir = fs.mkdtempSync(`${os.tmpdir()}/pdeath-`);
    fs.writeFileSync(`${dir}/Makefile`, 'out:\n\techo partial > $@; sleep 60\n');
    const launcher = makeLauncher(['-C', dir]);
    expect(launcher.command).toBe('/usr/bin/setpriv');
    // A parent that starts make in its own group as runMake does, says its pid, and waits.
    const script = `const c = require('child_process').spawn(${JSON.stringify(launcher.command)}, ${JSON.stringify(launcher.args)}, { detached: true, stdio: 'ignore' }); console.log(c.pid);`;
    const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const makePid = await new Promise<number>((resolve) => parent.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString()))));
    for (let waited = 0; !fs.existsSync(`${dir}/out`) && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    parent.kill('SIGKILL');
    for (let waited = 0; alive(makePid) && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(alive(makePid)).toBe(false);
    expect(fs.existsSync(`${dir}/out`)).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs make itself for an interactive session, which must keep the terminal', () => {
    expect(makeLauncher(['menuconfig'], true)).toEqual({ command: 'make', args: ['menuconfig'] });
  });
});
