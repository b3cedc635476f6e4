/**
 * The executor's view of a container engine (SwarmKit's agent/exec
 * Controller). The task lifecycle in runner.ts calls exactly these, so a
 * simulated controller can stand in for the real runtime in scale tests.
 */
import type { ExitStatus } from '../runtime/types';
import type { HealthReport } from '../health/monitor';

export interface Controller {
  /** Makes everything the container needs ready (the image above all). Errors here reject the task. */
  prepare(signal: AbortSignal): Promise<void>;
  /** Starts the container; resolves with the host PID of its first process. */
  start(): Promise<number>;
  /**
   * Resolves when the container's first process exits. With a health check, it also runs the
   * check, and rejects with an UnhealthyError (after stopping the container) when it fails.
   */
  wait(signal: AbortSignal): Promise<ExitStatus>;
  /** Hears the health check's reports (a controller without checks never calls it). */
  onHealth?(listener: (r: HealthReport) => void): void;
  /** Stops gracefully: SIGTERM, then SIGKILL after the stop grace period. */
  shutdown(): Promise<void>;
  /** Stops at once (SIGKILL). */
  terminate(): Promise<void>;
  /** Releases everything the container holds (mounts, cgroup, state). Idempotent. */
  remove(): Promise<void>;
  /** Whether a container for this task exists and runs, with its PID: used to re-attach after an agent restart. */
  running(): Promise<number | null>;
  /** Freezes (true) or thaws (false) every process of the running container. */
  pause(paused: boolean): Promise<void>;
  /** Whether the container is frozen now (re-attach after a restart keeps it so). */
  paused(): Promise<boolean>;
}
