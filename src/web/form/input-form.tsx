import type { Api, Model } from '../api.js';
import type { FieldErrors } from './errors.js';

// STUB (replaced by the form helper).

export interface InputFormProps {
  readonly api: Api;
  readonly model: Model;
  /** The prediction's `input` as it will be sent: an absent key is left to the model (its default, or a random seed). */
  readonly input: Record<string, unknown>;
  onInput(input: Record<string, unknown>): void;
  /** From the last 422, by input name; '' for the request as a whole. */
  readonly errors: FieldErrors;
  /** A create request is on its way. */
  readonly busy: boolean;
  onRun(): void;
}

export function InputForm({ onRun, busy }: InputFormProps) {
  return (
    <form onSubmit={(e) => (e.preventDefault(), onRun())}>
      <button class="primary" type="submit" disabled={busy}>
        Run
      </button>
    </form>
  );
}
