import { consoleLines, consoleTail, isMarkerLine, parseBootConsole } from './boot-console';

const crlf = (lines: string[]) => lines.map((line) => `${line}\r\n`).join('');

// What a real 6.12 boot under QEMU prints, shortened; the tty turns each \n into \r\n.
const SUCCESSFUL_BOOT = crlf([
  '\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)',
  'Booting from ROM..\x1bc\x1b[?7l\x1b[2JLinux version 6.12.118-linuxkit (root@vm) #1 Thu Dec  3 23:46:13 UTC 2026',
  'Command line: console=ttyS0 panic=-1',
  '[    0.912345] Run /init as init process',
  'KTEST-UNAME 6.12.118-linuxkit',
  'KTEST-UNAMEV #1 SMP PREEMPT_DYNAMIC Thu Dec  3 23:46:13 UTC 2026',
  '[    1.001234] virtio_blk virtio0: [vda] 2048 512-byte logical blocks',
  'KTEST-MODPROBE virtio_blk ok',
  "modprobe: module nope not found in modules.dep",
  'KTEST-MODPROBE nope fail',
  'KTEST-CMD-BEGIN 0',
  'console=ttyS0 panic=-1',
  'KTEST-CMD-END 0 0',
  'KTEST-CMD-BEGIN 1',
  'sh: false: not found',
  '[    1.203456] random: crng init done',
  'KTEST-CMD-END 1 127',
  'KTEST-DONE',
  'ACPI: PM: Preparing to enter system sleep state S5',
  'reboot: Power down',
]);

describe('parseBootConsole', () => {
  it('reads uname, modules, commands and done from a boot with kernel messages in between', () => {
    expect(parseBootConsole(SUCCESSFUL_BOOT)).toEqual({
      uname: '6.12.118-linuxkit',
      unameV: '#1 SMP PREEMPT_DYNAMIC Thu Dec  3 23:46:13 UTC 2026',
      modules: [
        { name: 'virtio_blk', ok: true },
        { name: 'nope', ok: false },
      ],
      commands: [
        { index: 0, output: 'console=ttyS0 panic=-1', exitCode: 0 },
        { index: 1, output: 'sh: false: not found\n[    1.203456] random: crng init done', exitCode: 127 },
      ],
      done: true,
    });
  });

  it('reads the same report from LF-only and from CRLF consoles', () => {
    expect(parseBootConsole(SUCCESSFUL_BOOT.replace(/\r\n/g, '\n'))).toEqual(parseBootConsole(SUCCESSFUL_BOOT));
  });

  it('reports nothing for an empty console', () => {
    expect(parseBootConsole('')).toEqual({ modules: [], commands: [], done: false });
  });

  it('finds the END marker after output that did not end in a newline', () => {
    const report = parseBootConsole(crlf(['KTEST-CMD-BEGIN 0', 'first line', 'no newlineKTEST-CMD-END 0 3', 'KTEST-DONE']));
    expect(report.commands).toEqual([{ index: 0, output: 'first line\nno newline', exitCode: 3 }]);
    expect(report.done).toBe(true);
  });

  it('keeps an empty output for a command that printed nothing', () => {
    expect(parseBootConsole(crlf(['KTEST-CMD-BEGIN 0', 'KTEST-CMD-END 0 0'])).commands).toEqual([{ index: 0, output: '', exitCode: 0 }]);
  });

  it('treats marker text printed by a command as its output, not as a marker', () => {
    // `cat /init` prints the script, which names every marker.
    const report = parseBootConsole(
      crlf([
        'KTEST-CMD-BEGIN 0',
        'echo "KTEST-UNAME $(uname -r)"',
        'KTEST-UNAME fake',
        'KTEST-MODPROBE fake fail',
        'KTEST-DONE',
        'echo "KTEST-CMD-END 0 $?"',
        'KTEST-CMD-END 1 0',
        'KTEST-CMD-END 0 0',
      ]),
    );
    expect(report).toEqual({
      modules: [],
      commands: [
        {
          index: 0,
          output: 'echo "KTEST-UNAME $(uname -r)"\nKTEST-UNAME fake\nKTEST-MODPROBE fake fail\nKTEST-DONE\necho "KTEST-CMD-END 0 $?"\nKTEST-CMD-END 1 0',
          exitCode: 0,
        },
      ],
      done: false,
    });
  });

  it('reports a command the console ended inside of with exitCode null', () => {
    const report = parseBootConsole(crlf(['KTEST-CMD-BEGIN 0', 'KTEST-CMD-END 0 0', 'KTEST-CMD-BEGIN 1', 'working…', '[   9.1] Kernel panic - not syncing: Out of memory']));
    expect(report.commands).toEqual([
      { index: 0, output: '', exitCode: 0 },
      { index: 1, output: 'working…\n[   9.1] Kernel panic - not syncing: Out of memory', exitCode: null },
    ]);
    expect(report.panic).toBe('Kernel panic - not syncing: Out of memory');
  });

  it('reports the first panic message without its timestamp', () => {
    const report = parseBootConsole(
      crlf([
        '[    0.954321] Run /init as init process',
        '[    0.960000] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100',
        '[    0.960100] CPU: 0 UID: 0 PID: 1 Comm: init Not tainted 6.12.118-linuxkit #1',
        '[    0.961000] ---[ end Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100 ]---',
      ]),
    );
    expect(report.panic).toBe('Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100');
    expect(report.done).toBe(false);
    expect(report.uname).toBeUndefined();
  });

  it('reads a panic that has no timestamp (printk.time off)', () => {
    expect(parseBootConsole('Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\r\n').panic).toBe(
      'Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)',
    );
  });

  it('keeps the first uname when a later line repeats the marker', () => {
    expect(parseBootConsole(crlf(['KTEST-UNAME 6.1.192-linuxkit', 'KTEST-UNAME other'])).uname).toBe('6.1.192-linuxkit');
  });

  it('leaves uname unset when the marker carries no value', () => {
    expect(parseBootConsole(crlf(['KTEST-UNAME ', 'KTEST-UNAMEV'])).uname).toBeUndefined();
  });

  it('does not mistake the uname -v marker for the uname -r marker', () => {
    const report = parseBootConsole('KTEST-UNAMEV #1 SMP\r\n');
    expect(report.uname).toBeUndefined();
    expect(report.unameV).toBe('#1 SMP');
  });

  it('ignores marker words that only appear inside a kernel message', () => {
    const report = parseBootConsole(crlf(['[    1.0] audit: comm="KTEST-DONE"', '[    1.1] KTEST-MODPROBE x ok']));
    expect(report).toEqual({ modules: [], commands: [], done: false });
  });

  it('accepts markers with stray whitespace around them', () => {
    const report = parseBootConsole('  KTEST-MODPROBE crc_itu_t ok \r\r\n\tKTEST-DONE\r\n');
    expect(report.modules).toEqual([{ name: 'crc_itu_t', ok: true }]);
    expect(report.done).toBe(true);
  });

  it('reads a console cut off in the middle of a line', () => {
    const report = parseBootConsole('KTEST-UNAME 6.12.118-linuxkit\r\nKTEST-MODPROBE virtio_blk o');
    expect(report.uname).toBe('6.12.118-linuxkit');
    expect(report.modules).toEqual([]);
  });
});

describe('consoleLines', () => {
  it('drops carriage returns and terminal control sequences', () => {
    expect(consoleLines('\x1bc\x1b[?7l\x1b[2Jone\r\ntwo\r\r\nthree')).toEqual(['one', 'two', 'three']);
  });
});

describe('consoleTail', () => {
  it('returns the last lines without the empty line after the final newline', () => {
    expect(consoleTail('a\r\nb\r\nc\r\nd\r\n', 2)).toBe('c\nd');
  });

  it('returns everything when the console is shorter than asked', () => {
    expect(consoleTail('a\nb', 40)).toBe('a\nb');
  });
});

describe('isMarkerLine', () => {
  it('matches the marker alone, with CR and whitespace', () => {
    expect(isMarkerLine('KTEST-DONE\r', 'KTEST-DONE')).toBe(true);
    expect(isMarkerLine('  KTEST-DONE  ', 'KTEST-DONE')).toBe(true);
  });

  it('does not match a line that merely contains it', () => {
    expect(isMarkerLine('echo KTEST-DONE', 'KTEST-DONE')).toBe(false);
    expect(isMarkerLine('KTEST-DONE!', 'KTEST-DONE')).toBe(false);
  });
});
