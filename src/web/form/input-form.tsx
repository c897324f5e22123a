import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Api, Model } from '../api.js';
import type { FieldErrors } from './errors.js';
import { ImageInput } from './image-input.js';
import { MaskPainter } from './mask-painter.js';
import { inputFields, type Field } from './schema.js';
import './form.css';

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

/** What every control of a field is told: its ids, its value, and how to change it (undefined removes the key). */
interface ControlProps {
  readonly api: Api;
  readonly field: Field;
  readonly id: string;
  readonly describedBy: string;
  readonly invalid: boolean;
  readonly value: unknown;
  onChange(value: unknown): void;
}

/** The selected model's inputs in `x-order`, each labelled by its title, with its description and its 422 message. */
export function InputForm({ api, model, input, onInput, errors, busy, onRun }: InputFormProps) {
  const fields = useMemo(() => (model.latest_version ? inputFields(model.latest_version.openapi_schema) : []), [model]);
  const [previews, setPreviews] = useState<Record<string, string | null>>({});
  // Uploads end later: each change starts from the input as it is then, not as it was when the upload began.
  const latest = useRef(input);
  latest.current = input;
  const set = (name: string, value: unknown) => {
    const { [name]: _, ...rest } = latest.current;
    latest.current = value === undefined ? rest : { ...rest, [name]: value };
    onInput(latest.current);
  };
  const general = Object.entries(errors).filter(([key]) => !fields.some((f) => f.name === key));
  const paintable = fields.some((f) => f.name === 'image' && f.kind === 'image');

  return (
    <form class="input-form" noValidate onSubmit={(e) => (e.preventDefault(), onRun())}>
      {general.length > 0 && (
        <div class="form-errors error" role="alert">
          {general.map(([key, message]) => (
            <p key={key}>{key ? `${key}: ${message}` : message}</p>
          ))}
        </div>
      )}
      {fields.map((field) => {
        const id = `input-${field.name}`;
        const error = errors[field.name];
        const describedBy = [field.description ? `${id}-help` : '', error ? `${id}-error` : ''].filter(Boolean).join(' ');
        const control: ControlProps = { api, field, id, describedBy, invalid: !!error, value: input[field.name], onChange: (v) => set(field.name, v) };
        const list = field.kind === 'texts' || field.kind === 'numbers' || field.kind === 'images';
        const Wrapper = list ? 'fieldset' : 'div';
        return (
          <Wrapper key={field.name} class={`field field-${field.kind}`} aria-describedby={list ? describedBy || undefined : undefined}>
            {list ? <legend>{field.label}</legend> : field.kind !== 'boolean' && <label for={id}>{field.label}</label>}
            {field.kind === 'image' ? (
              <ImageInput
                api={api}
                id={id}
                title={field.label}
                value={typeof control.value === 'string' ? control.value : undefined}
                onChange={control.onChange}
                describedBy={describedBy}
                invalid={!!error}
                onPreview={(src) => setPreviews((p) => ({ ...p, [field.name]: src }))}
              />
            ) : list ? (
              <ListField {...control} />
            ) : (
              <ScalarControl {...control} />
            )}
            {field.name === 'mask' && field.kind === 'image' && paintable && (
              <MaskPainter api={api} imageSrc={previews.image ?? null} onMask={(url) => set('mask', url)} />
            )}
            {field.description && (
              <p id={`${id}-help`} class="help muted">
                {field.description}
              </p>
            )}
            {error && (
              <p id={`${id}-error`} class="error">
                {error}
              </p>
            )}
          </Wrapper>
        );
      })}
      <button class="primary run" type="submit" disabled={busy}>
        Run
      </button>
    </form>
  );
}

function aria({ id, describedBy, invalid }: ControlProps) {
  return { id, 'aria-describedby': describedBy || undefined, 'aria-invalid': invalid ? ('true' as const) : undefined };
}

function ScalarControl(props: ControlProps) {
  const { field, value, onChange } = props;
  switch (field.kind) {
    case 'integer':
    case 'number':
      return field.name === 'seed' ? <SeedControl {...props} /> : <NumberInput {...props} />;
    case 'boolean':
      return (
        <label class="check">
          <input type="checkbox" {...aria(props)} checked={value === true} onChange={(e) => onChange(e.currentTarget.checked)} />
          {field.label}
        </label>
      );
    case 'enum': {
      const choices = field.choices ?? [];
      const index = choices.findIndex((c) => c === value);
      return (
        <select {...aria(props)} required={field.required} value={String(index)} onChange={(e) => onChange(choices[Number(e.currentTarget.value)])}>
          {index < 0 && <option value="-1">{field.required ? 'Choose…' : 'Model default'}</option>}
          {choices.map((c, i) => (
            <option key={i} value={String(i)}>{String(c)}</option>
          ))}
        </select>
      );
    }
    default: {
      const text = typeof value === 'string' ? value : '';
      const change = (t: string) => onChange(t === '' ? undefined : t);
      return /prompt/.test(field.name) ? (
        <textarea {...aria(props)} required={field.required} rows={field.required ? 3 : 2} value={text} onInput={(e) => change(e.currentTarget.value)} />
      ) : (
        <input type="text" {...aria(props)} required={field.required} value={text} onInput={(e) => change(e.currentTarget.value)} />
      );
    }
  }
}

/**
 * A number as typed: the text is kept while it is not a number yet ("-", "0."), and replaced only when the input
 * changes from elsewhere (another model, a prediction opened again). An empty box removes the key.
 */
function NumberInput(props: ControlProps & { readonly disabled?: boolean; onBlur?(): void }) {
  const { field, value, onChange } = props;
  const shown = typeof value === 'number' ? String(value) : '';
  const [text, setText] = useState(shown);
  useEffect(() => {
    if (Number(text) !== value || text === '') setText(shown);
  }, [value]);
  return (
    <input
      type="number"
      {...aria(props)}
      inputMode={field.kind === 'integer' ? 'numeric' : 'decimal'}
      min={field.minimum}
      max={field.maximum}
      step={field.kind === 'integer' ? 1 : 'any'}
      placeholder={field.default === undefined ? undefined : `Default ${String(field.default)}`}
      required={field.required}
      disabled={props.disabled}
      value={text}
      onBlur={props.onBlur}
      onInput={(e) => {
        const t = e.currentTarget.value;
        setText(t);
        onChange(t.trim() === '' || !Number.isFinite(Number(t)) ? undefined : Number(t));
      }}
    />
  );
}

/** The seed: "Random seed" (checked while `seed` is absent) or the number typed. */
function SeedControl(props: ControlProps) {
  const { value, onChange, id } = props;
  const [random, setRandom] = useState(value === undefined);
  // Emptying the box to type another seed leaves "Random seed" alone until the box loses the focus.
  const emptied = useRef(false);
  const kept = useRef<number | undefined>(undefined);
  if (typeof value === 'number') kept.current = value;
  useEffect(() => {
    if (!emptied.current) setRandom(value === undefined);
    emptied.current = false;
  }, [value]);
  return (
    <div class="seed">
      <NumberInput
        {...props}
        disabled={random}
        onChange={(v) => ((emptied.current = v === undefined), onChange(v))}
        onBlur={() => value === undefined && setRandom(true)}
      />
      <label class="check">
        <input
          type="checkbox"
          id={`${id}-random`}
          checked={random}
          onChange={(e) => {
            const checked = e.currentTarget.checked;
            setRandom(checked);
            // The server draws 16 bits when no seed is given (replicate-api.md §17); a fresh one looks alike.
            onChange(checked ? undefined : (kept.current ?? Math.floor(Math.random() * 2 ** 16)));
          }}
        />
        Random seed
      </label>
    </div>
  );
}

/** A list input as rows: texts, numbers or images; empty rows are not sent, and no row at all removes the key. */
function ListField(props: ControlProps) {
  const { api, field, id, describedBy, invalid, value, onChange } = props;
  const given = Array.isArray(value) ? value.map(String) : [];
  const [rows, setRows] = useState<string[]>(given.length > 0 ? given : ['']);
  const sent = (r: readonly string[]) => {
    const filled = r.filter((x) => x.trim() !== '');
    return field.kind === 'numbers' ? filled.map(Number).filter(Number.isFinite) : filled;
  };
  useEffect(() => {
    if (JSON.stringify(sent(rows)) !== JSON.stringify(Array.isArray(value) ? value : [])) setRows(given.length > 0 ? given : ['']);
  }, [JSON.stringify(value)]);
  const update = (next: string[]) => {
    setRows(next);
    const v = sent(next);
    onChange(v.length > 0 ? v : undefined);
  };
  const edit = (i: number, v: string) => update(rows.map((r, j) => (j === i ? v : r)));
  const remove = (i: number) => update(rows.filter((_, j) => j !== i));

  return (
    <>
      {rows.map((row, i) => {
        const title = `${field.label} ${i + 1}`;
        const rowId = `${id}-${i}`;
        const removable = rows.length > 1;
        if (field.kind === 'images') {
          return (
            <ImageInput
              key={i}
              api={api}
              id={rowId}
              title={title}
              value={row || undefined}
              onChange={(v) => (v === undefined ? remove(i) : edit(i, v))}
              describedBy={describedBy}
              invalid={invalid}
              removable={removable}
            />
          );
        }
        const rowProps = { ...props, id: rowId, value: row === '' ? undefined : field.kind === 'numbers' ? Number(row) : row };
        return (
          <div key={i} class="list-row">
            <label class="visually-hidden" for={rowId}>
              {title}
            </label>
            {field.kind === 'numbers' ? (
              <NumberInput {...rowProps} field={{ ...field, kind: 'number' }} onChange={(v) => edit(i, v === undefined ? '' : String(v))} />
            ) : (
              <textarea {...aria(rowProps)} rows={2} value={row} onInput={(e) => edit(i, e.currentTarget.value)} />
            )}
            {removable && (
              <button type="button" class="remove" onClick={() => remove(i)}>
                Remove {title}
              </button>
            )}
          </div>
        );
      })}
      <button type="button" class="add" onClick={() => setRows([...rows, ''])}>
        Add to {field.label}
      </button>
    </>
  );
}
