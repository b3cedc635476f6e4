/**
 * Why a file the stack file names (a secret, a config, an env_file) could not be read, in the
 * words docker prints (`open /srv/db_pass: no such file or directory`), one line.
 */
const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  ELOOP: 'too many levels of symbolic links',
};

export function openFailure(path: string, err: NodeJS.ErrnoException): string {
  const reason = (err.code !== undefined ? REASONS[err.code] : undefined) ?? err.message;
  return `open ${path}: ${reason}`;
}
