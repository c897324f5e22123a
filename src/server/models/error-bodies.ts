// The error bodies of replicate-api.md §5 (served as application/problem+json), built in one place.
import type { InvalidField } from '../types.js';

export interface ErrorBody {
  readonly title?: string;
  readonly detail: string;
  readonly status?: number;
  readonly invalid_fields?: readonly InvalidField[];
}

/** 422: one `- field: description` line per entry (the body's own entries without a field). */
export function validationErrorBody(fields: readonly InvalidField[]): ErrorBody {
  const detail = fields.map((f) => (f.field === '' ? `- ${f.description}\n` : `- ${f.field}: ${f.description}\n`)).join('');
  return { detail, status: 422, title: 'Input validation failed', invalid_fields: fields };
}

/** 422: a version id that is unknown, of another model, or not this account's to use. */
export function invalidVersionBody(): ErrorBody {
  return {
    title: 'Invalid version or not permitted',
    detail: "The specified version does not exist (or perhaps you don't have permission to use it?)",
    status: 422,
  };
}

/** 401 for a missing or unknown token (§3). */
export function unauthenticatedBody(): ErrorBody {
  return { title: 'Unauthenticated', detail: 'You did not pass a valid authentication token', status: 401 };
}

/** 404 for an unknown (or another account's) prediction, model or version. */
export function notFoundBody(): ErrorBody {
  return { detail: 'Not found.', status: 404 };
}

export function fileNotFoundBody(): ErrorBody {
  return { detail: 'File not found' };
}

/** 413 for an upload over the limit. */
export function fileTooLargeBody(): ErrorBody {
  return { detail: 'Files must be less than 100MB in size' };
}

/** 400 for a body that is not JSON. */
export function malformedJsonBody(): ErrorBody {
  return { title: 'Bad request', detail: 'Invalid JSON', status: 400 };
}

/** 429, sent with `Retry-After: <seconds>`. */
export function throttledBody(retryAfterSeconds: number): ErrorBody {
  return { detail: `Request was throttled. Expected available in ${retryAfterSeconds} second${retryAfterSeconds === 1 ? '' : 's'}.` };
}

export function serverErrorBody(): ErrorBody {
  return { detail: 'Internal server error' };
}
