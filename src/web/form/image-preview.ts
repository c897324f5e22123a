import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api.js';

// What an image input's value looks like: a data: URL is shown as it is; a file of this server (uploaded here,
// or in a prediction opened again from the history) needs the token, so its bytes are fetched into a blob: URL.

/** Bytes this page uploaded itself, by their file URL: shown without asking the server for them again. */
const uploaded = new Map<string, Blob>();

/** Uploads an image input; its value is then the file's URL (§ files API). */
export async function uploadImage(api: Api, blob: Blob, name: string): Promise<string> {
  const url = (await api.upload(blob, name)).urls.get;
  uploaded.set(url, blob);
  return url;
}

export interface Preview {
  readonly src: string | null;
  readonly error: string | null;
}

export function usePreview(api: Api, value: string | undefined): Preview {
  const [preview, setPreview] = useState<Preview>({ src: null, error: null });
  useEffect(() => {
    if (!value) return setPreview({ src: null, error: null });
    if (!value.startsWith(`${api.apiUrl}/files/`)) return setPreview({ src: value, error: null });
    setPreview({ src: null, error: null });
    let objectUrl: string | null = null;
    let current = true;
    const known = uploaded.get(value);
    (known ? Promise.resolve(known) : api.download(value)).then(
      (blob) => {
        if (!current) return;
        objectUrl = URL.createObjectURL(blob);
        setPreview({ src: objectUrl, error: null });
      },
      () => current && setPreview({ src: null, error: 'This file is no longer on the server: choose the image again.' }),
    );
    return () => {
      current = false;
      if (objectUrl) URL.revokeObjectURL(objectUrl);
    };
  }, [api.token, value]);
  return preview;
}
