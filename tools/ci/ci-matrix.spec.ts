import * as path from 'path';
import { loadKernelProjects } from '@linuxkit-kernels/spec';
import { ciMatrix, githubOutputs } from './ci-matrix';

const kernels = loadKernelProjects(path.resolve(__dirname, '../..'));

describe('the CI fan-out', () => {
  it('makes one job per affected kernel and arch, and none for other projects', () => {
    const matrix = ciMatrix(['kernel-6.12-virt', 'kernel-6.12', 'nx-plugin'], kernels);
    expect(matrix.include).toEqual([
      { project: 'kernel-6.12', arch: 'x86_64' },
      { project: 'kernel-6.12', arch: 'aarch64' },
      { project: 'kernel-6.12-virt', arch: 'x86_64' },
      { project: 'kernel-6.12-virt', arch: 'aarch64' },
    ]);
  });

  it('writes the matrix and the projects for the index job as GitHub outputs', () => {
    expect(githubOutputs(ciMatrix(['kernel-6.1'], kernels))).toBe(
      'matrix={"include":[{"project":"kernel-6.1","arch":"x86_64"},{"project":"kernel-6.1","arch":"aarch64"}]}\nprojects=kernel-6.1\n',
    );
  });

  it('has an empty matrix when nothing is affected', () => {
    expect(githubOutputs(ciMatrix([], kernels))).toBe('matrix={"include":[]}\nprojects=\n');
  });
});
