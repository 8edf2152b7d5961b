import execa from 'execa';
import { isProcessAlive } from './index';

describe('isProcessAlive', () => {
  it('knows this process is alive and an exited one is not', async () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    const child = execa('true');
    const pid = child.pid as number;
    await child;
    expect(isProcessAlive(pid)).toBe(false);
  });
});
