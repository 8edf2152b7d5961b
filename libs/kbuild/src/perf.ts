import * as fs from 'fs';
import * as path from 'path';
import execa from 'execa';
import { KernelBuildError } from '@linuxkit-kernels/errors';
import { BuildIdentity, runMake } from './make';
import { Toolchain } from './toolchain';

/**
 * A static perf needs only libc: every optional library is switched off, so the same flags work
 * natively and with a Debian cross toolchain (whose sysroot has libc.a and nothing else).
 */
export const STATIC_PERF_VARIABLES: Record<string, string> = {
  LDFLAGS: '-static',
  ...Object.fromEntries(
    [
      'LIBELF', 'LIBTRACEEVENT', 'JEVENTS', 'LIBPYTHON', 'LIBPERL', 'LIBUNWIND', 'LIBDW_DWARF_UNWIND', 'SLANG', 'GTK2', 'LIBNUMA',
      'LIBAUDIT', 'LIBCRYPTO', 'LIBCAP', 'LIBZSTD', 'LIBLZMA', 'LIBBABELTRACE', 'LIBBPF', 'BPF_SKEL', 'DEMANGLE', 'SDT', 'AUXTRACE',
      'LIBPFM4', 'ZLIB',
    ].map((feature) => [`NO_${feature}`, '1']),
  ),
};

/** What perf's build reads from a kernel tree (tools/perf/MANIFEST plus the headers and kbuild scripts it includes). */
const EXTRA_PERF_SOURCES = ['Makefile', 'scripts', 'include/uapi', 'arch/x86/include/uapi', 'arch/arm64/include/uapi', 'arch/riscv/include/uapi'];

/**
 * Copies perf's sources out of the patched tree: perf's build writes into its source dirs, and
 * the patched tree shares its files (hard links) with the pristine extraction.
 */
export async function preparePerfSource(srcDir: string, perfSrcDir: string, version: string): Promise<void> {
  const manifest = fs.readFileSync(path.join(srcDir, 'tools/perf/MANIFEST'), 'utf8').split('\n').map((line) => line.trim()).filter(Boolean);
  const entries: string[] = [];
  for (const pattern of [...manifest, ...EXTRA_PERF_SOURCES]) {
    const { stdout } = await execa('bash', ['-c', 'shopt -s nullglob; for f in $1; do echo "$f"; done', 'glob', pattern], { cwd: srcDir });
    entries.push(...stdout.split('\n').filter(Boolean));
  }
  fs.rmSync(perfSrcDir, { recursive: true, force: true });
  fs.mkdirSync(perfSrcDir, { recursive: true });
  await execa('cp', ['-a', '--parents', ...new Set(entries), perfSrcDir], { cwd: srcDir });
  // Without git, PERF-VERSION-GEN takes the version from here (as in perf's own source tarball).
  fs.writeFileSync(path.join(perfSrcDir, 'PERF-VERSION-FILE'), `#define PERF_VERSION "${version}"\n`);
}

export interface PerfBuild {
  perfSrcDir: string;
  outDir: string;
  toolchain: Toolchain;
  logFile: string;
  jobs?: number;
  identity?: BuildIdentity;
  signal?: AbortSignal;
}

/** Builds a statically linked, stripped perf; returns its path. */
export async function buildStaticPerf(build: PerfBuild): Promise<string> {
  await runMake({
    srcDir: path.join(build.perfSrcDir, 'tools/perf'),
    buildDir: build.outDir,
    toolchain: build.toolchain,
    targets: ['perf'],
    variables: STATIC_PERF_VARIABLES,
    jobs: build.jobs,
    identity: build.identity,
    logFile: build.logFile,
    signal: build.signal,
  });
  const binary = path.join(build.outDir, 'perf');
  const { stdout } = await execa('file', ['-b', binary]);
  if (!/statically linked/.test(stdout)) throw new KernelBuildError(`${binary} is not statically linked (${stdout})`, `read ${build.logFile}`);
  await execa(`${build.toolchain.crossCompile}strip`, [binary]);
  return binary;
}
