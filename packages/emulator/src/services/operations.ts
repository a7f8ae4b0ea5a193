import { randomUuid } from "../signing.js";

/** A finished google.longrunning.Operation, as the admin APIs return it. */
export interface Operation {
  name: string;
  done: true;
  metadata?: Record<string, unknown>;
  response?: Record<string, unknown>;
}

/** Most operations a service remembers for `GET .../operations/ID` (older ones are forgotten first). */
const MAX_REMEMBERED = 1000;

/**
 * Long-running operations of one admin API. The emulator applies every change at once, so operations are
 * born done and carry the result, which is what gcloud prints; they stay readable for clients that poll.
 */
export class Operations {
  readonly #done = new Map<string, Operation>();

  /** Records a finished operation named `${prefix}/operations/ID` (or `operations/ID` without a prefix). */
  finish(init: {
    prefix?: string;
    id?: string;
    metadata?: Record<string, unknown>;
    response?: Record<string, unknown>;
  }): Operation {
    const id = init.id ?? randomUuid().replace(/-/g, "");
    const name = init.prefix ? `${init.prefix}/operations/${id}` : `operations/${id}`;
    const operation: Operation = {
      name,
      done: true,
      ...(init.metadata ? { metadata: init.metadata } : {}),
      ...(init.response ? { response: init.response } : {}),
    };
    if (this.#done.size >= MAX_REMEMBERED) this.#done.delete(this.#done.keys().next().value as string);
    this.#done.set(name, operation);
    return operation;
  }

  get(name: string): Operation | undefined {
    return this.#done.get(name);
  }
}
