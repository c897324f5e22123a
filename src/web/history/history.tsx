import { useEffect, useRef, useState } from 'preact/hooks';
import { messageOf, modelId, type Api, type Model, type Page, type Prediction } from '../api.js';
import { outputFiles } from '../run/outputs.js';
import { curlSnippet, nodeSnippet, pythonSnippet, type SnippetTarget } from './snippets.js';
import './history.css';

export interface HistoryProps {
  readonly api: Api;
  readonly models: readonly Model[];
  /** Show a prediction with its inputs in the form. */
  onOpen(p: Prediction): void;
  /** Run a prediction's model again with these inputs (its own, or with another seed). */
  onRun(p: Prediction, input: Record<string, unknown>): void;
}

const SNIPPETS = [
  ['Copy as curl', curlSnippet],
  ['Copy as Node', nodeSnippet],
  ['Copy as Python', pythonSnippet],
] as const;

interface Copying {
  readonly title: string;
  readonly text: string;
}

export function History({ api, models, onOpen, onRun }: HistoryProps) {
  const [pageUrl, setPageUrl] = useState('/predictions');
  const [page, setPage] = useState<Page<Prediction> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [copying, setCopying] = useState<Copying | null>(null);

  useEffect(() => {
    let stale = false;
    setError(null);
    api.predictions(pageUrl).then(
      (p) => !stale && setPage(p),
      (err: unknown) => !stale && setError(messageOf(err)),
    );
    return () => {
      stale = true;
    };
  }, [api.token, pageUrl]);

  const served = new Set(models.map(modelId));
  const origin = api.apiUrl.replace(/\/v1$/, '');
  const target = (p: Prediction): SnippetTarget => ({ origin, token: api.token, model: p.model, version: p.version, input: p.input });

  return (
    <section class="history" aria-label="History">
      <div class="history-head">
        <h2>History</h2>
        <Paging page={page} onPage={setPageUrl} />
      </div>
      {error && (
        <p class="error" role="alert">
          Could not load the predictions: {error}
        </p>
      )}
      {!page && !error && <p class="muted">Loading…</p>}
      {page && page.results.length === 0 && <p class="muted">No predictions yet: run one from Create.</p>}
      <div class="history-list">
        {page?.results.map((p) => {
          const usable = served.has(p.model);
          return (
            <article class="panel history-item" aria-label={`Prediction ${p.id}`} key={p.id}>
              <Thumbnail prediction={p} />
              <div class="history-body">
                <p class="history-prompt">{promptOf(p) || <span class="muted">(no prompt)</span>}</p>
                <p class="history-meta muted">
                  <span>{p.model}</span>
                  <span class={`history-status status-${p.status}`}>{p.status}</span>
                  <time dateTime={p.created_at} title={new Date(p.created_at).toLocaleString()}>
                    {relativeTime(p.created_at, Date.now())}
                  </time>
                </p>
                <div class="history-actions">
                  <button type="button" onClick={() => onOpen(p)} disabled={!usable}>
                    Open
                  </button>
                  <button type="button" onClick={() => onRun(p, p.input)} disabled={!usable}>
                    Run again
                  </button>
                  <button type="button" onClick={() => onRun(p, withoutSeed(p.input))} disabled={!usable}>
                    Another seed
                  </button>
                  {SNIPPETS.map(([title, snippet]) => (
                    <button type="button" onClick={() => setCopying({ title, text: snippet(target(p)) })}>
                      {title}
                    </button>
                  ))}
                </div>
              </div>
            </article>
          );
        })}
      </div>
      {page && page.results.length > 0 && <Paging page={page} onPage={setPageUrl} />}
      {copying && <CopyDialog {...copying} onClose={() => setCopying(null)} />}
    </section>
  );
}

function Paging({ page, onPage }: { page: Page<Prediction> | null; onPage(url: string): void }) {
  return (
    <nav class="history-paging" aria-label="Pages">
      <button type="button" disabled={!page?.previous} onClick={() => page?.previous && onPage(page.previous)}>
        Newer
      </button>
      <button type="button" disabled={!page?.next} onClick={() => page?.next && onPage(page.next)}>
        Older
      </button>
    </nav>
  );
}

/** The first image output, from the list's file URLs (never a data: URI: a page of those would weigh megabytes). */
function Thumbnail({ prediction }: { prediction: Prediction }) {
  const image = outputFiles(prediction).find((f) => f.kind === 'image' && !f.url.startsWith('data:'));
  if (!image) return <div class="history-thumb history-thumb-empty" aria-hidden="true">{prediction.output ? 'file' : '—'}</div>;
  return <img class="history-thumb" src={image.url} alt="" loading="lazy" width={96} height={96} />;
}

function promptOf(p: Prediction): string {
  const { prompt, texts } = p.input;
  if (typeof prompt === 'string') return prompt;
  return Array.isArray(texts) ? texts.join(' + ') : '';
}

/** The same input with the seed left to the model: a new random one. */
function withoutSeed(input: Record<string, unknown>): Record<string, unknown> {
  const { seed: _seed, ...rest } = input;
  return rest;
}

/** "just now", "5 min ago", "3 h ago", "2 d ago", then the date. */
function relativeTime(iso: string, now: number): string {
  const seconds = Math.round((now - Date.parse(iso)) / 1000);
  if (seconds < 45) return 'just now';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  if (seconds < 7 * 86400) return `${Math.round(seconds / 86400)} d ago`;
  return new Date(iso).toLocaleDateString();
}

/**
 * A modal dialog named like the button that opened it, with the snippet and Copy; Escape (the native dialog's
 * cancel) and Close close it. The clipboard API needs a secure context: elsewhere the text is selected instead.
 */
function CopyDialog({ title, text, onClose }: Copying & { onClose(): void }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const pre = useRef<HTMLPreElement>(null);
  const [note, setNote] = useState('');
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    dialog.current?.showModal();
    return () => opener?.focus();
  }, []);

  async function copy() {
    try {
      if (!navigator.clipboard || !window.isSecureContext) throw new Error('no clipboard');
      await navigator.clipboard.writeText(text);
      setNote('Copied.');
    } catch {
      const range = document.createRange();
      range.selectNodeContents(pre.current!);
      const selection = getSelection();
      selection?.removeAllRanges();
      selection?.addRange(range);
      setNote(document.execCommand('copy') ? 'Copied.' : 'Selected: press Ctrl+C (⌘C) to copy.');
    }
  }

  return (
    <dialog ref={dialog} class="copy-dialog" aria-labelledby="copy-title" onClose={onClose}>
      <h2 id="copy-title">{title}</h2>
      <pre ref={pre} tabIndex={0}>
        {text}
      </pre>
      <div class="copy-actions">
        <span class="muted" role="status">
          {note}
        </span>
        <button type="button" class="primary" onClick={() => void copy()}>
          Copy
        </button>
        <button type="button" onClick={() => dialog.current?.close()}>
          Close
        </button>
      </div>
    </dialog>
  );
}
