/** Why a task cannot run on this node: each fails (or rejects) the task, never the agent. */
import { TsswarmError } from '../../shared/errors';

/** The task cannot be turned into a container as given (no command, called out of order). */
export class TaskError extends TsswarmError {
  readonly code: string = 'TASK';
}

/** A mount of the task cannot be made; the message is Docker's where Docker has one. */
export class InvalidMountError extends TaskError {
  override readonly code = 'INVALID_MOUNT';
}

/** A secret or config the task uses did not come with this node's assignments. */
export class BlobNotFoundError extends TaskError {
  override readonly code = 'BLOB_NOT_FOUND';
  constructor(
    readonly kind: 'secret' | 'config',
    readonly blobName: string,
  ) {
    super(`${kind} ${blobName} not found on this node`);
  }
}

/** The task's health check failed `retries` times in a row: the container was stopped, the task fails (Swarm's words). */
export class UnhealthyError extends TaskError {
  override readonly code = 'UNHEALTHY';
  constructor() {
    super('task: unhealthy container');
  }
}
