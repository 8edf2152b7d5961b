import { assertModuleName, MARKER, renderInitScript } from './init-script';

describe('renderInitScript', () => {
  it('reports uname, each module and each command between markers, then powers off', () => {
    const script = renderInitScript(['virtio_blk'], ['cat /proc/cmdline']);
    expect(script.startsWith('#!/bin/sh\n')).toBe(true);
    expect(script).toContain(`echo "${MARKER.uname} $(uname -r)"`);
    expect(script).toContain(`if modprobe virtio_blk; then echo "${MARKER.modprobe} virtio_blk ok"; else echo "${MARKER.modprobe} virtio_blk fail"; fi`);
    expect(script).toContain(`echo "${MARKER.commandBegin} 0"\n(\ncat /proc/cmdline\n) 2>&1\necho "${MARKER.commandEnd} 0 $?"`);
    expect(script.trimEnd().split('\n').slice(-2)).toEqual([`echo ${MARKER.done}`, 'poweroff -f']);
  });

  it('refuses a module name that would inject shell', () => {
    expect(() => renderInitScript(['virtio_blk; reboot'])).toThrow("module name 'virtio_blk; reboot' is not a valid module name");
  });
});

describe('assertModuleName', () => {
  it.each(['crc_itu_t', 'virtio-blk', 'nf_conntrack_ipv4'])('accepts %s', (name) => {
    expect(() => assertModuleName(name)).not.toThrow();
  });
});
