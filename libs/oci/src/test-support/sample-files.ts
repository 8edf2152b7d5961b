import { accessSync, constants, promises as fs } from 'fs';
import os from 'os';
import path from 'path';

/**
 * Bytes that compress like a kernel build's output: words from a small vocabulary mixed with
 * runs of noise, from a seeded generator so every run of the tests sees the same data.
 */
export function sampleBytes(length: number, seed = 1): Buffer {
  const words = ['static', 'inline', 'struct', 'return', 'kernel', 'module', '0x', 'EXPORT_SYMBOL', '\n', '{', '}', ';'];
  const bytes = Buffer.allocUnsafe(length);
  let state = seed >>> 0 || 1;
  const next = () => {
    // xorshift32: fast and good enough to defeat run-length shortcuts.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  let offset = 0;
  while (offset < length) {
    const roll = next();
    if (roll % 8 === 0) {
      const noise = Math.min(1 + (roll % 64), length - offset);
      for (let i = 0; i < noise; i += 1) bytes[offset + i] = next() & 0xff;
      offset += noise;
    } else {
      offset += bytes.write(`${words[roll % words.length]} `, offset, 'latin1');
    }
  }
  return bytes;
}

export async function makeTempDir(name: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `oci-${name}-`));
}

/** Whether `command` is an executable on PATH. */
export function commandExists(command: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * `it`, or, when a tool the case needs is missing, `it.skip` with the reason in the test name
 * so the report says why it did not run.
 */
export function itWithTools(tools: string[]): jest.It {
  const missing = tools.filter((tool) => !commandExists(tool));
  if (missing.length === 0) return it;
  const skip = ((name: string, fn?: jest.ProvidesCallback, timeout?: number) =>
    it.skip(`${name} [skipped: ${missing.join(', ')} not installed]`, fn, timeout)) as unknown as jest.It;
  return skip;
}
