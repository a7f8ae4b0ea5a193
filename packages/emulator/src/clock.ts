import type { Clock } from "@wifkit/core";
import { invalidOption } from "@wifkit/core";

/**
 * The emulator's notion of "now". It follows the wall clock from a movable offset, so tests can jump ahead
 * (token expiry, credential rotation, signature skew) while real clients that sign with `Date.now()` (such as
 * google-auth-library's SigV4 signer) still agree with the emulator by default.
 */
export interface EmulatorClock extends Clock {
  /** Milliseconds since the epoch, as the emulator sees them. */
  now(): number;
  /** Moves the emulator's time forward (or back, with a negative value) by `ms`. */
  advance(ms: number): void;
  /** Makes `now()` return `time` from this instant on (time keeps flowing from there). */
  set(time: number | Date): void;
}

/** Creates an emulator clock that starts at `start` (default: the wall clock) and keeps flowing. */
export function createEmulatorClock(
  start?: number | Date,
  wallClock: Clock = { now: () => Date.now() },
): EmulatorClock {
  let offset = start === undefined ? 0 : toMillis(start) - wallClock.now();
  return {
    now: () => wallClock.now() + offset,
    advance(ms: number) {
      if (!Number.isFinite(ms))
        throw invalidOption("ms", "of clock.advance(ms) must be a finite number of milliseconds.");
      offset += ms;
    },
    set(time: number | Date) {
      offset = toMillis(time) - wallClock.now();
    },
  };
}

function toMillis(time: number | Date): number {
  const ms = typeof time === "number" ? time : time.getTime();
  if (!Number.isFinite(ms))
    throw invalidOption(
      "time",
      "of the emulator clock must be a finite number of milliseconds or a valid Date.",
    );
  return ms;
}

/** RFC 3339 in UTC without fractional seconds (one client parses only that form). */
export function rfc3339(time: number): string {
  return new Date(Math.floor(time / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}
