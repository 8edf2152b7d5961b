import { MARKER } from './init-script';

export interface ModuleLoad {
  name: string;
  ok: boolean;
}

export interface CommandRun {
  index: number;
  /** What the command printed (stdout and stderr), lines joined with \n. */
  output: string;
  /** null when the console ends before the command did (panic, timeout). */
  exitCode: number | null;
}

/** What /init reported on the serial console, read back from its marker lines. */
export interface BootConsole {
  /** `uname -r` */
  uname?: string;
  /** `uname -v` */
  unameV?: string;
  modules: ModuleLoad[];
  commands: CommandRun[];
  /** /init reached its end. */
  done: boolean;
  /** The first "Kernel panic - not syncing: …" message, without the timestamp. */
  panic?: string;
}

// Firmware and QEMU write terminal control sequences (clear screen, line wrap) onto the serial line.
const TERMINAL_CONTROL = /\x1b(?:\[[0-9;?]*[A-Za-z]|[A-Za-z])/g;
const PANIC = /Kernel panic - not syncing.*$/;
const UNAME = new RegExp(`^${MARKER.uname} (.+)$`);
const UNAME_V = new RegExp(`^${MARKER.unameV} (.+)$`);
const MODPROBE = new RegExp(`^${MARKER.modprobe} (\\S+) (ok|fail)$`);
const COMMAND_BEGIN = new RegExp(`^${MARKER.commandBegin} (\\d+)$`);

/**
 * Serial console lines as a person reads them: no CR from the tty's CRLF, no terminal control,
 * and no empty line after the final newline.
 */
export function consoleLines(consoleText: string): string[] {
  const text = consoleText.endsWith('\n') ? consoleText.slice(0, -1) : consoleText;
  if (text === '') return [];
  return text.split('\n').map((line) => line.replace(TERMINAL_CONTROL, '').replace(/\r/g, ''));
}

/** The last `count` lines, for error details. */
export function consoleTail(consoleText: string, count: number): string {
  return consoleLines(consoleText).slice(-count).join('\n');
}

/**
 * Whether a console line is the marker alone. The same test stops the boot and makes the parse
 * report `done`, so the two cannot disagree; a line that merely contains it (`cat /init`) is not it.
 */
export function isMarkerLine(line: string, marker: string): boolean {
  return line.replace(TERMINAL_CONTROL, '').trim() === marker;
}

/**
 * Reads /init's marker lines back from the console. Kernel messages may sit between them; a
 * command's output is everything between its BEGIN and END markers, and its END marker may
 * follow output that did not end in a newline, so inside a command only END is recognised.
 */
export function parseBootConsole(consoleText: string): BootConsole {
  const report: BootConsole = { modules: [], commands: [], done: false };
  let running: { index: number; output: string[]; end: RegExp } | undefined;

  for (const line of consoleLines(consoleText)) {
    const panic = PANIC.exec(line);
    if (panic && report.panic === undefined) report.panic = panic[0].trim();

    if (running) {
      const end = running.end.exec(line);
      if (!end) {
        running.output.push(line);
        continue;
      }
      const before = line.slice(0, end.index);
      if (before) running.output.push(before);
      report.commands.push({ index: running.index, output: running.output.join('\n'), exitCode: Number(end[1]) });
      running = undefined;
      continue;
    }

    const text = line.trim();
    let match: RegExpExecArray | null;
    if (isMarkerLine(text, MARKER.done)) {
      report.done = true;
    } else if ((match = UNAME.exec(text))) {
      report.uname ??= match[1].trim();
    } else if ((match = UNAME_V.exec(text))) {
      report.unameV ??= match[1].trim();
    } else if ((match = MODPROBE.exec(text))) {
      report.modules.push({ name: match[1], ok: match[2] === 'ok' });
    } else if ((match = COMMAND_BEGIN.exec(text))) {
      const index = Number(match[1]);
      running = { index, output: [], end: new RegExp(`${MARKER.commandEnd} ${index} (\\d+)\\s*$`) };
    }
  }

  if (running) report.commands.push({ index: running.index, output: running.output.join('\n'), exitCode: null });
  return report;
}
