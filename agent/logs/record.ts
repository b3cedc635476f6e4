/**
 * One record of a task's log file, as the shim frames it (native/src/log-relay.h, annotation
 * `tsswarm.log.format: cri`): `<time> <stdout|stderr> <F|P> <content>` per line, the time UTC RFC
 * 3339 with nine fraction digits (shared/log-time.ts), P for a piece of a line longer than the
 * shim's 16 KiB, continued by the next record of that stream.
 */
import { isNanoTime } from '../../shared/log-time';

export interface LogRecord {
  time: string;
  stream: 'stdout' | 'stderr';
  partial: boolean;
  text: Buffer;
}

const TIME_LEN = 30; // 2026-12-03T08:03:40.123456789Z
const SPACE = 0x20;

/**
 * The record on one line (without its `\n`). A line that is not a record (a container started
 * before logs were framed, or a message of the shim's own) is its own text on stdout at
 * `fallbackTime`, the time of the record before it: nothing in the file is lost or reordered.
 */
export function parseRecord(line: Buffer, fallbackTime: string): LogRecord {
  // An empty line may lose the space before its (empty) content.
  if (line.length >= TIME_LEN + 9 && line[TIME_LEN] === SPACE && line[TIME_LEN + 7] === SPACE && (line.length === TIME_LEN + 9 || line[TIME_LEN + 9] === SPACE)) {
    const stream = line.toString('latin1', TIME_LEN + 1, TIME_LEN + 7);
    const tag = line[TIME_LEN + 8];
    const time = line.toString('latin1', 0, TIME_LEN);
    if ((stream === 'stdout' || stream === 'stderr') && (tag === 0x46 || tag === 0x50) && isNanoTime(time)) {
      return { time, stream, partial: tag === 0x50, text: line.subarray(TIME_LEN + 10) };
    }
  }
  return { time: fallbackTime, stream: 'stdout', partial: false, text: line };
}
