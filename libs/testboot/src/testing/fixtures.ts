import { chmod, mkdir, mkdtemp, readFile, symlink, writeFile } from 'fs/promises';
import { tmpdir } from 'os';
import * as path from 'path';
import * as tar from 'tar';

export const FIXTURE_RELEASE = '6.12.118-linuxkit';

export function scratchDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `testboot-${prefix}-`));
}

/**
 * A kernel.tar as an image carries it: a modules tree with modules.dep, the build/source links
 * modules_install leaves, and a dtb directory outside lib/modules, all under a leading "./".
 */
export async function makeModulesTar(dir: string, release = FIXTURE_RELEASE): Promise<string> {
  const root = path.join(dir, 'kernel-tar-root');
  const modules = path.join(root, 'lib/modules', release);
  await mkdir(path.join(modules, 'kernel/lib'), { recursive: true });
  await mkdir(path.join(root, 'boot/dtb'), { recursive: true });
  await writeFile(path.join(modules, 'modules.dep'), 'kernel/lib/crc-itu-t.ko:\n');
  await writeFile(path.join(modules, 'kernel/lib/crc-itu-t.ko'), 'not really an ELF module\n');
  await writeFile(path.join(modules, 'kernel/lib/helper.sh'), '#!/bin/sh\n');
  await chmod(path.join(modules, 'kernel/lib/helper.sh'), 0o700);
  await symlink(`/usr/src/linux-headers-${release}`, path.join(modules, 'build'));
  await symlink('/home/someone/linux', path.join(modules, 'source'));
  await writeFile(path.join(root, 'boot/dtb/board.dtb'), 'dtb');
  const file = path.join(dir, 'kernel.tar');
  await tar.c({ file, cwd: root, portable: true }, ['.']);
  return file;
}

export type FakeQemuStep = { print: string } | { sleepSeconds: number };

/**
 * Puts executables named like QEMU in `dir` that ignore the machine and replay a canned serial
 * console, so timeouts, kills and marker handling can be tested without a kernel. They record
 * their argv (one per line) in dir/argv, and with `end: 'hang'` leave a child `sleep` (its pid in
 * dir/sleep.pid) to show that the whole process group is killed.
 */
export async function installFakeQemu(
  dir: string,
  steps: FakeQemuStep[],
  end: { exitCode: number; stderr?: string } | 'hang' = { exitCode: 0 },
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const script = ['#!/bin/sh', 'dir=$(dirname "$0")', `printf '%s\\n' "$@" > "$dir/argv"`];
  for (const [index, step] of steps.entries()) {
    if ('print' in step) {
      await writeFile(path.join(dir, `console-${index}`), step.print);
      script.push(`cat "$dir/console-${index}"`);
    } else {
      script.push(`sleep ${step.sleepSeconds}`);
    }
  }
  if (end === 'hang') {
    script.push('sleep 60 &', 'echo $! > "$dir/sleep.pid"', 'wait');
  } else {
    if (end.stderr) {
      await writeFile(path.join(dir, 'stderr'), end.stderr);
      script.push('cat "$dir/stderr" >&2');
    }
    script.push(`exit ${end.exitCode}`);
  }
  for (const binary of ['qemu-system-x86_64', 'qemu-system-aarch64']) {
    await writeFile(path.join(dir, binary), `${script.join('\n')}\n`, { mode: 0o755 });
  }
}

/** Runs `body` with `dir` first in PATH, the way a user's PATH finds qemu. */
export async function withPathFirst<T>(dir: string, body: () => Promise<T>): Promise<T> {
  const original = process.env.PATH;
  process.env.PATH = `${dir}:${original ?? ''}`;
  try {
    return await body();
  } finally {
    process.env.PATH = original;
  }
}

/** Whether a process is gone (or a zombie nobody has reaped yet, which is as good as gone). */
export async function processIsGone(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return /^\d+ \(.*\) Z/.test(stat);
  } catch {
    return true;
  }
}
