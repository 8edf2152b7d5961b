import { promises as fs } from 'fs';
import os from 'os';
import path from 'path';

/** Temp directories removed after each test: `const temp = useTempDirs(); const dir = await temp.make();`. */
export function useTempDirs(): { make(): Promise<string> } {
  const made: string[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })));
  });
  return {
    async make() {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'source-spec-'));
      made.push(dir);
      return dir;
    },
  };
}

/** Names in a directory, [] when it does not exist. */
export async function listDir(dir: string): Promise<string[]> {
  return fs.readdir(dir).catch(() => []);
}

export async function exists(target: string): Promise<boolean> {
  return fs.lstat(target).then(() => true, () => false);
}
