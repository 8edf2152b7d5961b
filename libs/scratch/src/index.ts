/**
 * Scratch files and directories carry their writer's pid in their name, so a later run can tell
 * the leftovers of a killed run (safe to delete) from the work of one still running.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
