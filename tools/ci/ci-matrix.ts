import execa from 'execa';
import * as path from 'path';
import { isKernelBuildError, KernelBuildError } from '@linuxkit-kernels/errors';
import { KernelProject, loadKernelProjects } from '@linuxkit-kernels/spec';

export interface CiMatrix {
  include: { project: string; arch: string }[];
}

/** One CI job per affected kernel project and arch (pure: the affected list comes from nx). */
export function ciMatrix(affected: readonly string[], kernels: readonly KernelProject[]): CiMatrix {
  const wanted = new Set(affected);
  return {
    include: kernels
      .filter((kernel) => wanted.has(kernel.name))
      .sort((a, b) => a.name.localeCompare(b.name))
      .flatMap((kernel) => kernel.arches.map((arch) => ({ project: kernel.name, arch }))),
  };
}

/** Lines for $GITHUB_OUTPUT: the job matrix and the projects the index job joins. */
export function githubOutputs(matrix: CiMatrix): string {
  const projects = [...new Set(matrix.include.map((entry) => entry.project))];
  return `matrix=${JSON.stringify(matrix)}\nprojects=${projects.join(',')}\n`;
}

export async function affectedKernelProjects(workspaceRoot: string, base: string, head: string): Promise<string[]> {
  const result = await execa('npx', ['nx', 'show', 'projects', '--affected', `--base=${base}`, `--head=${head}`, '--with-target=push', '--json'], {
    cwd: workspaceRoot,
    env: { NX_DAEMON: 'false' },
    reject: false,
  });
  if (result.exitCode !== 0) throw new KernelBuildError(`nx could not compute the affected projects between ${base} and ${head}`, 'check out with full history (fetch-depth: 0)', result.stderr);
  return JSON.parse(result.stdout) as string[];
}

if (require.main === module) {
  const arg = (name: string, fallback: string) => process.argv.find((value) => value.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
  const root = path.resolve(__dirname, '../..');
  affectedKernelProjects(root, arg('base', 'origin/main'), arg('head', 'HEAD'))
    .then((affected) => process.stdout.write(githubOutputs(ciMatrix(affected, loadKernelProjects(root)))))
    .catch((error) => {
      process.stderr.write(`ci-matrix: ${isKernelBuildError(error) ? error.describe() : String(error)}\n`);
      process.exitCode = 1;
    });
}
