import type { Accounts } from './accounts.js';
import type { Catalogue } from './models/index.js';
import type { ChangeFeed } from './changes.js';
import type { OutputForm, UrlBase } from './prediction-json.js';
import type { Store } from './types.js';

/** What every route needs: built once by the server, shared by the route files. */
export interface ServerContext extends UrlBase {
  readonly store: Store;
  readonly accounts: Accounts;
  readonly catalogue: Catalogue;
  readonly changes: ChangeFeed;
  /** How create and get give outputs: data URIs over plain HTTP, file URLs with an https public URL (§12). */
  readonly outputForm: OutputForm;
  /** Predictions that may wait in the queue; more answer 429. */
  readonly maxQueue?: number;
  /** Called after a prediction is queued: wakes the local worker. */
  readonly onQueued: () => void;
}
