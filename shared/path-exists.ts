import { stat } from 'node:fs/promises';

/** Whether anything exists at path (a dangling name counts as absent). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
