import { KernelBuildError } from '@linuxkit-kernels/errors';

/** The busybox applets /init calls; each gets a /bin symlink at build time. */
export const INIT_APPLETS = ['sh', 'mount', 'modprobe', 'insmod', 'lsmod', 'uname', 'poweroff', 'echo', 'cat', 'dmesg', 'mkdir', 'ls', 'grep'] as const;

/** Marker words /init prints at the start of a console line; the boot parser reads them back. */
export const MARKER = {
  uname: 'KTEST-UNAME',
  unameV: 'KTEST-UNAMEV',
  modprobe: 'KTEST-MODPROBE',
  commandBegin: 'KTEST-CMD-BEGIN',
  commandEnd: 'KTEST-CMD-END',
  done: 'KTEST-DONE',
} as const;

// Module names are spliced into a shell script, so only what modprobe itself accepts is allowed.
const MODULE_NAME = /^[A-Za-z0-9_-]+$/;

export function assertModuleName(name: string): void {
  if (!MODULE_NAME.test(name)) {
    throw new KernelBuildError(
      `module name '${name}' is not a valid module name`,
      'use the module name as modprobe knows it (letters, digits, _ and -), e.g. crc_itu_t',
    );
  }
}

/**
 * The /init shell script: mount the pseudo filesystems, report uname, modprobe each module and
 * run each command, reporting each with a marker line, then power off. Commands run in a
 * subshell so an `exit` in one cannot end init (which would panic the kernel).
 */
export function renderInitScript(modules: readonly string[], commands: readonly string[] = []): string {
  modules.forEach(assertModuleName);
  const lines = [
    '#!/bin/sh',
    'export PATH=/bin',
    'mount -t proc proc /proc',
    'mount -t sysfs sysfs /sys',
    'mount -t devtmpfs devtmpfs /dev',
    `echo "${MARKER.uname} $(uname -r)"`,
    `echo "${MARKER.unameV} $(uname -v)"`,
    ...modules.map(
      (name) => `if modprobe ${name}; then echo "${MARKER.modprobe} ${name} ok"; else echo "${MARKER.modprobe} ${name} fail"; fi`,
    ),
    ...commands.flatMap((command, index) => [
      `echo "${MARKER.commandBegin} ${index}"`,
      `(\n${command}\n) 2>&1`,
      `echo "${MARKER.commandEnd} ${index} $?"`,
    ]),
    `echo ${MARKER.done}`,
    'poweroff -f',
    '',
  ];
  return lines.join('\n');
}
