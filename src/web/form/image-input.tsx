import { useEffect, useRef, useState } from 'preact/hooks';
import { messageOf, type Api } from '../api.js';
import { uploadImage, usePreview } from './image-preview.js';

export interface ImageInputProps {
  readonly api: Api;
  /** The control's id (its label, its messages derive theirs from it). */
  readonly id: string;
  readonly title: string;
  /** The input's value: a file URL or a data: URL; undefined when none is chosen. */
  readonly value: string | undefined;
  onChange(value: string | undefined): void;
  /** Ids of the field's help and error texts. */
  readonly describedBy: string;
  readonly invalid: boolean;
  /** Offers "Remove <title>" even without an image (a row of a list). */
  readonly removable?: boolean;
  /** The preview's src, for whoever draws over the image (the mask painter). */
  onPreview?(src: string | null): void;
}

/** One image input: a drop zone (click, drop, or paste while focused) with a visually hidden file input. */
export function ImageInput({ api, id, title, value, onChange, describedBy, invalid, removable, onPreview }: ImageInputProps) {
  const preview = usePreview(api, value);
  const [uploading, setUploading] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [over, setOver] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => onPreview?.(preview.src), [preview.src]);

  async function choose(file: File | undefined) {
    if (!file) return;
    setFailure(null);
    if (!file.type.startsWith('image/')) return setFailure(`${file.name || 'This file'} is not an image (${file.type || 'unknown type'}).`);
    setUploading(true);
    try {
      onChange(await uploadImage(api, file, file.name || 'pasted.png'));
    } catch (err) {
      setFailure(`Upload failed: ${messageOf(err)}`);
    } finally {
      setUploading(false);
    }
  }

  const message = failure ?? preview.error;
  const messageId = `${id}-upload-error`;
  return (
    <div class="image-input">
      {/* The file input (labelled by the field) takes the focus and the keyboard; the zone around it the pointer. */}
      <div
        class={`drop-zone${over ? ' over' : ''}`}
        onClick={(e) => e.target !== input.current && input.current?.click()}
        onDragOver={(e) => (e.preventDefault(), setOver(true))}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          void choose(e.dataTransfer?.files[0]);
        }}
        onPaste={(e) => {
          const file = [...(e.clipboardData?.files ?? [])][0];
          if (file) (e.preventDefault(), void choose(file));
        }}
      >
        <input
          ref={input}
          id={id}
          class="visually-hidden"
          type="file"
          accept="image/*"
          aria-invalid={invalid || message ? 'true' : undefined}
          aria-describedby={[describedBy, message ? messageId : ''].filter(Boolean).join(' ') || undefined}
          onChange={(e) => {
            void choose(e.currentTarget.files?.[0]);
            e.currentTarget.value = '';
          }}
        />
        {preview.src ? (
          <img src={preview.src} alt={`${title} preview`} />
        ) : (
          <span class="drop-hint" aria-hidden="true">
            {uploading ? 'Uploading…' : value && !message ? 'Loading…' : 'Drop, paste or choose an image'}
          </span>
        )}
      </div>
      {/* Without a preview the drop zone already shows "Uploading…": then only screen readers need the status. */}
      {uploading && (
        <span class={preview.src ? undefined : 'visually-hidden'} role="status">
          Uploading…
        </span>
      )}
      {message && (
        <p id={messageId} class="error">
          {message}
        </p>
      )}
      {(value || removable) && (
        <button type="button" class="remove" onClick={() => (setFailure(null), onChange(undefined))}>
          Remove {title}
        </button>
      )}
    </div>
  );
}
