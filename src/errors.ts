/** Base class of every error the library throws on purpose: the message is meant for a user. */
export class KandinskyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A weight file that cannot be read: truncated, malformed, unsafe, or missing a tensor. */
export class WeightsError extends KandinskyError {}

/** A config.json / model_index.json / tokenizer file that does not describe a model we can build. */
export class ConfigError extends KandinskyError {}

/** Input handed to a network or pipeline that does not fit it (shape, dtype, range). */
export class InputError extends KandinskyError {}

/** The hub could not be reached in time, refused, or answered something other than what it announced. */
export class HubError extends KandinskyError {}

/** The service's store cannot be opened or written: not a database, a newer schema, a disk or lock failure. */
export class StoreError extends KandinskyError {}

/** A worker wrote to a prediction it no longer holds: its lease lapsed and the prediction was recovered. */
export class LeaseLostError extends StoreError {}
