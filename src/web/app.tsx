import { useEffect, useMemo, useState } from 'preact/hooks';
import { Api, ApiError, messageOf, modelId, type Model, type Prediction } from './api.js';
import { fieldErrors, type FieldErrors } from './form/errors.js';
import { InputForm } from './form/input-form.js';
import { defaultInput } from './form/schema.js';
import { History } from './history/history.js';
import { RunPanel } from './run/run-panel.js';
import { forgetToken, readToken, saveToken } from './token.js';

const LAST_MODEL = 'kandinsky.model';

export function App() {
  const [token, setToken] = useState(readToken);
  const [refused, setRefused] = useState<string | null>(null);
  if (!token) return <SignIn refused={refused} onToken={(t) => (saveToken(t), setRefused(null), setToken(t))} />;
  const signOut = (why: string | null) => {
    forgetToken();
    setRefused(why);
    setToken(null);
  };
  return <Playground api={new Api(token)} onSignOut={signOut} />;
}

function SignIn({ refused, onToken }: { refused: string | null; onToken(token: string): void }) {
  const [value, setValue] = useState('');
  return (
    <main class="sign-in panel">
      <h1>Kandinsky playground</h1>
      <p>
        Open the address <code>kandinsky serve</code> prints (<code>…/#token=…</code>) to sign in at once, or paste an API token
        of this server: one of <code>KANDINSKY_API_TOKENS</code>, or of <code>tokens.json</code> in its <code>--data</code> folder.
      </p>
      {refused && (
        <p class="error" role="alert">
          {refused}
        </p>
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim()) onToken(value.trim());
        }}
      >
        <label class="visually-hidden" for="token">
          API token
        </label>
        <input id="token" type="password" autocomplete="off" placeholder="r8_…" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
        <button class="primary" type="submit">
          Sign in
        </button>
      </form>
    </main>
  );
}

type View = 'create' | 'history';

function Playground({ api, onSignOut }: { api: Api; onSignOut(why: string | null): void }) {
  const [models, setModels] = useState<Model[] | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [account, setAccount] = useState<string | null>(null);
  const [view, setView] = useState<View>('create');
  const [selected, setSelected] = useState<string | null>(null);
  const [input, setInput] = useState<Record<string, unknown>>({});
  const [errors, setErrors] = useState<FieldErrors>({});
  const [prediction, setPrediction] = useState<Prediction | null>(null);
  const [submitting, setSubmitting] = useState(false);

  useEffect(() => {
    Promise.all([api.account(), api.models()])
      .then(([who, all]) => {
        setAccount(who.username);
        const usable = all.filter((m) => m.latest_version);
        setModels(usable);
        const last = localStorage.getItem(LAST_MODEL);
        choose(usable.find((m) => modelId(m) === last) ?? usable[0], null);
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 401) onSignOut('The server refused this token: enter another.');
        else setLoadError(messageOf(err));
      });
  }, [api.token]);

  const model = useMemo(() => models?.find((m) => modelId(m) === selected), [models, selected]);

  /** A model with its defaults, or with a prediction's inputs when one is opened again. */
  function choose(m: Model | undefined, from: Record<string, unknown> | null) {
    if (!m) return;
    localStorage.setItem(LAST_MODEL, modelId(m));
    setSelected(modelId(m));
    setInput(from ? { ...from } : defaultInput(m.latest_version!.openapi_schema));
    setErrors({});
  }

  async function run(m: Model, values: Record<string, unknown>) {
    setErrors({});
    setSubmitting(true);
    try {
      setPrediction(await api.create(m.latest_version!.id, values));
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) onSignOut('The server refused this token: enter another.');
      else if (err instanceof ApiError && err.invalidFields.length > 0) setErrors(fieldErrors(err.invalidFields));
      else setErrors({ '': messageOf(err) });
    } finally {
      setSubmitting(false);
    }
  }

  /** From the history: the prediction's model and inputs in the form, and the prediction itself beside them. */
  function open(p: Prediction, rerun?: Record<string, unknown>) {
    const m = models?.find((x) => modelId(x) === p.model);
    if (!m) return;
    choose(m, rerun ?? p.input);
    setPrediction(p);
    setView('create');
    if (rerun) void run(m, rerun);
  }

  return (
    <>
      <header class="app-header">
        <h1>
          <img src="/favicon.svg" alt="" width="24" height="24" />
          Kandinsky playground
        </h1>
        <nav aria-label="Views">
          <button type="button" aria-current={view === 'create' ? 'page' : undefined} onClick={() => setView('create')}>
            Create
          </button>
          <button type="button" aria-current={view === 'history' ? 'page' : undefined} onClick={() => setView('history')}>
            History
          </button>
        </nav>
        <div class="account">
          {account && <span class="muted">{account}</span>}
          <button type="button" onClick={() => onSignOut(null)}>
            Sign out
          </button>
        </div>
      </header>
      <main>
        {loadError && (
          <p class="error" role="alert">
            {loadError}
          </p>
        )}
        {models && models.length === 0 && <p role="alert">This server serves no model: start it with --models pointing at the Kandinsky repos.</p>}
        {view === 'create' && models && model && (
          <div class="create">
            <section class="panel" aria-label="Inputs">
              <label class="model-label" for="model">Model</label>
              <select id="model" class="model-select" value={modelId(model)} onChange={(e) => choose(models.find((m) => modelId(m) === e.currentTarget.value), null)}>
                {models.map((m) => (
                  <option value={modelId(m)}>{modelId(m)}</option>
                ))}
              </select>
              {model.description && <p class="muted">{model.description}</p>}
              <InputForm
                api={api}
                model={model}
                input={input}
                onInput={setInput}
                errors={errors}
                busy={submitting}
                onRun={() => void run(model, input)}
              />
            </section>
            <RunPanel api={api} prediction={prediction} onChange={setPrediction} />
          </div>
        )}
        {view === 'history' && models && <History api={api} models={models} onOpen={(p) => open(p)} onRun={(p, values) => open(p, values)} />}
      </main>
    </>
  );
}
