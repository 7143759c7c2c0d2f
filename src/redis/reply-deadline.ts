import { Command } from 'ioredis';

/**
 * How long a command waits for Redis's reply before it counts as failed (DESIGN §4: fail fast, so
 * the outage policies answer at once): a healthy Redis on the same network answers in about a
 * millisecond.
 */
export const REPLY_DEADLINE_MS = 200;

// A deadline timer that fires later than this found an event loop that was busy with this
// process's own work for a good part of the wait: the wait does not tell whether Redis answered.
const BUSY_LOOP_LATENESS_MS = REPLY_DEADLINE_MS / 2;
// How often a wait spoilt by a busy loop is started again before the command is given up as lost
// to the process's own load (then the request is shed, never the outage policy applied).
const MAX_RESTARTS = 3;

/**
 * A command's deadline passed every time while the event loop was too busy to wait fairly: the
 * process is overloaded, Redis is not known to have failed (DESIGN §10).
 */
export class RedisWaitLostToLoadError extends Error {
  constructor() {
    super('Redis reply not awaited: the process was too busy');
    this.name = 'RedisWaitLostToLoadError';
  }
}

/** What the deadline uses of a command: its state, its rejection, and the slot of ioredis's timer. */
interface DeadlineCommand {
  isSettled: boolean;
  reject(error: Error): void;
  _commandTimeoutTimer?: NodeJS.Timeout;
}

/**
 * ioredis's command timeout, made to mean that Redis did not answer (DESIGN §10). Its own timer
 * rejects a command as soon as it fires; after the event loop was stalled, timers run before the
 * poll phase that reads the socket, so replies that had already arrived were thrown away as
 * time-outs and counted as a Redis outage. This one, when the timer fires:
 * - waits one I/O turn (setImmediate runs after the poll phase), so an arrived reply is read first;
 * - if the timer fired late (the loop was busy), starts the wait again, at most MAX_RESTARTS times,
 *   then fails with RedisWaitLostToLoadError;
 * - otherwise fails as ioredis does ("Command timed out").
 * The timer is kept where ioredis keeps its own, so a settled command clears it as before.
 */
function setReplyDeadline(this: DeadlineCommand, ms: number): void {
  if (this._commandTimeoutTimer) return;
  // eslint-disable-next-line @typescript-eslint/no-this-alias -- the timer's callbacks need the command
  const command = this;
  let due = performance.now() + ms;
  let restarts = 0;
  const expire = () => {
    if (command.isSettled) return;
    const lateMs = performance.now() - due;
    setImmediate(() => {
      if (command.isSettled) return;
      if (lateMs <= BUSY_LOOP_LATENESS_MS) {
        command.reject(new Error('Command timed out'));
      } else if (restarts === MAX_RESTARTS) {
        command.reject(new RedisWaitLostToLoadError());
      } else {
        restarts++;
        due = performance.now() + ms;
        timer.refresh();
      }
    });
  };
  const timer = setTimeout(expire, ms);
  this._commandTimeoutTimer = timer;
}

let installed = false;

/** Puts setReplyDeadline in place of ioredis's command timer, once per process. */
export function installReplyDeadline(): void {
  if (installed) return;
  installed = true;
  (Command.prototype as unknown as { setTimeout: typeof setReplyDeadline }).setTimeout = setReplyDeadline;
}
