import { useEffect, useRef, useState } from 'preact/hooks';
import { messageOf, TERMINAL, type Api, type Prediction } from '../api.js';
import { dataUriSize, formatSize, outputFiles, type OutputFile } from './outputs.js';
import { progressOf, type StageProgress } from './progress.js';
import './run.css';

/** How often a running prediction is polled (the JS client's `wait` polls every 500 ms too). */
const POLL_MS = 500;

export interface RunPanelProps {
  readonly api: Api;
  /** The prediction shown (the last run, or one opened from the history); null before the first. */
  readonly prediction: Prediction | null;
  /** The prediction as polled (or after a cancel), until it ends. */
  onChange(p: Prediction): void;
}

const isTerminal = (p: Prediction) => TERMINAL.includes(p.status);

export function RunPanel({ api, prediction, onChange }: RunPanelProps) {
  const pollError = usePolling(api, prediction, onChange);
  const [canceling, setCanceling] = useState<string | null>(null);
  const [cancelError, setCancelError] = useState<string | null>(null);
  useEffect(() => setCancelError(null), [prediction?.id]);

  if (!prediction) {
    return (
      <section class="panel run-panel" aria-label="Result">
        <p class="muted">Nothing run yet: fill in the form and press Run.</p>
      </section>
    );
  }
  const p = prediction;
  const running = !isTerminal(p);
  const { seed, stages } = progressOf(p.model, p.input, p.logs ?? '');

  async function cancel() {
    setCanceling(p.id);
    setCancelError(null);
    try {
      onChange(await api.cancel(p));
    } catch (err) {
      setCancelError(`Cancel failed: ${messageOf(err)}`);
    } finally {
      setCanceling(null);
    }
  }

  return (
    <section class="panel run-panel" aria-label="Result">
      <div class="run-head">
        <p role="status" class={`run-status run-${p.status}`}>
          {running && canceling === p.id ? 'Canceling…' : statusText(p)}
        </p>
        {running && (
          <button type="button" onClick={() => void cancel()} disabled={canceling === p.id}>
            Cancel
          </button>
        )}
      </div>
      {pollError && (
        <p class="error" role="alert">
          Could not refresh the prediction ({pollError}); retrying…
        </p>
      )}
      {cancelError && (
        <p class="error" role="alert">
          {cancelError}
        </p>
      )}
      {stages.length > 0 && (
        <div class="run-stages">
          {stages.map((s) => (
            <StageBar stage={s} />
          ))}
        </div>
      )}
      {p.error && (
        <p class="error run-error" role="alert">
          {p.error}
        </p>
      )}
      <Outputs files={outputFiles(p)} />
      <Parameters prediction={p} seed={seed} />
      <details class="run-logs">
        <summary>Logs</summary>
        <pre>{p.logs || 'No logs yet.'}</pre>
      </details>
    </section>
  );
}

/**
 * Polls the shown prediction until it ends: one request at a time, a failed poll shown and retried; it stops on
 * unmount and when another prediction is shown. Returns the last poll's error, if any.
 */
function usePolling(api: Api, prediction: Prediction | null, onChange: (p: Prediction) => void): string | null {
  const [error, setError] = useState<string | null>(null);
  const latest = useRef(onChange);
  latest.current = onChange;
  const id = prediction?.id;
  const live = prediction !== null && !isTerminal(prediction);
  useEffect(() => {
    setError(null);
    if (!id || !live) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const poll = async () => {
      try {
        const next = await api.get(id);
        if (stopped) return;
        setError(null);
        latest.current(next);
        if (isTerminal(next)) return;
      } catch (err) {
        if (stopped) return;
        setError(messageOf(err));
      }
      timer = setTimeout(() => void poll(), POLL_MS);
    };
    timer = setTimeout(() => void poll(), POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [api.token, id, live]);
  return error;
}

function statusText(p: Prediction): string {
  switch (p.status) {
    case 'starting':
      return 'Starting…';
    case 'processing':
      return 'Processing';
    case 'succeeded': {
      const t = p.metrics?.predict_time ?? p.metrics?.total_time;
      return t === undefined ? 'Succeeded' : `Succeeded in ${t.toFixed(1)} s`;
    }
    case 'failed':
      return 'Failed';
    case 'canceled':
      return 'Canceled';
  }
}

function StageBar({ stage }: { stage: StageProgress }) {
  const { name, done, total } = stage;
  const percent = total ? Math.round((done / total) * 100) : 0;
  const id = `stage-${name.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <div class="stage">
      <span id={id} class="stage-name">
        {name}
      </span>
      <div
        class="stage-bar"
        role="progressbar"
        aria-labelledby={id}
        aria-valuemin={0}
        aria-valuenow={done}
        aria-valuemax={total ?? undefined}
        aria-valuetext={`${done}/${total ?? '?'}`}
      >
        <span class="stage-track">
          <span class="stage-fill" style={{ width: `${percent}%` }} />
        </span>
        <span class="stage-count">
          {done}/{total ?? '?'}
        </span>
      </div>
    </div>
  );
}

function Outputs({ files }: { files: readonly OutputFile[] }) {
  if (files.length === 0) return null;
  const images = files.filter((f) => f.kind === 'image');
  return (
    <div class="run-outputs">
      {images.map((f, i) => (
        <OutputFigure file={f} alt={`Output ${i + 1}`} />
      ))}
      {files
        .filter((f) => f.kind === 'depth')
        .map((f) => (
          <OutputFigure file={f} alt="Estimated depth map" caption="Estimated depth map" />
        ))}
      {files
        .filter((f) => f.kind === 'file')
        .map((f) => (
          <p class="output-file">
            <a href={f.url} download={f.name}>
              Download {f.name}
            </a>{' '}
            <FileSize url={f.url} />
          </p>
        ))}
    </div>
  );
}

function OutputFigure({ file, alt, caption }: { file: OutputFile; alt: string; caption?: string }) {
  return (
    <figure class={file.kind === 'depth' ? 'output depth' : 'output'}>
      <img src={file.url} alt={alt} />
      <figcaption>
        {caption && <span class="muted">{caption} </span>}
        <a href={file.url} download={file.name}>
          Download {file.name}
        </a>
      </figcaption>
    </figure>
  );
}

/** A data: URI's size at once; an output URL's from its Content-Length (output files need no token, §12). */
function FileSize({ url }: { url: string }) {
  const [size, setSize] = useState<number | null>(() => dataUriSize(url));
  useEffect(() => {
    if (url.startsWith('data:')) return setSize(dataUriSize(url));
    let stale = false;
    fetch(url, { method: 'HEAD' })
      .then((r) => Number(r.headers.get('content-length')) || null)
      .then((n) => !stale && setSize(n), () => undefined);
    return () => {
      stale = true;
    };
  }, [url]);
  return size === null ? null : <span class="muted">({formatSize(size)})</span>;
}

function Parameters({ prediction: p, seed }: { prediction: Prediction; seed: number | null }) {
  const entries = Object.entries(p.input);
  return (
    <details class="run-parameters" open>
      <summary>Parameters</summary>
      <dl>
        {entries.map(([key, value]) => (
          <>
            <dt>{key}</dt>
            <dd>{shown(value)}</dd>
          </>
        ))}
        {seed !== null && p.input.seed === undefined && (
          <>
            <dt>seed</dt>
            <dd>{seed} (random)</dd>
          </>
        )}
        {p.metrics?.predict_time !== undefined && (
          <>
            <dt>predict time</dt>
            <dd>{p.metrics.predict_time.toFixed(2)} s</dd>
          </>
        )}
        <dt>model</dt>
        <dd>{p.model}</dd>
        <dt>id</dt>
        <dd>{p.id}</dd>
      </dl>
    </details>
  );
}

/** An input as text; a data: URI (an image pasted in) by its type and size, not its thousands of characters. */
function shown(value: unknown): string {
  if (Array.isArray(value)) return value.map(shown).join(', ');
  if (typeof value === 'string' && value.startsWith('data:')) {
    const size = dataUriSize(value);
    return `${value.slice(5, value.search(/[;,]/))} data${size === null ? '' : ` (${formatSize(size)})`}`;
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}
