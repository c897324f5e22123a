import { useEffect, useRef, useState } from 'preact/hooks';
import { messageOf, type Api } from '../api.js';
import { uploadImage } from './image-preview.js';

export interface MaskPainterProps {
  readonly api: Api;
  /** The preview of the image to repaint; null while none is chosen. */
  readonly imageSrc: string | null;
  /** The uploaded mask's file URL. */
  onMask(url: string): void;
}

/** Brush diameter in pixels of the image as shown, so a stroke looks the same size on a phone and a desktop. */
const BRUSH = { min: 4, max: 120, initial: 32 };
/** Arrow keys move the keyboard brush by this many shown pixels. */
const KEY_STEP = 8;

/** "Paint mask", then white strokes over the image shown dimmed: white = repaint, black = keep (the inpaint model's mask). */
export function MaskPainter({ api, imageSrc, onMask }: MaskPainterProps) {
  const [open, setOpen] = useState(false);
  useEffect(() => {
    if (!imageSrc) setOpen(false);
  }, [imageSrc]);
  return (
    <div class="mask-painter">
      <button type="button" disabled={!imageSrc} aria-expanded={open} onClick={() => setOpen(!open)}>
        Paint mask
      </button>
      {open && imageSrc && <Painter api={api} imageSrc={imageSrc} onMask={(url) => (onMask(url), setOpen(false))} onClose={() => setOpen(false)} />}
    </div>
  );
}

function Painter({ api, imageSrc, onMask, onClose }: { api: Api; imageSrc: string; onMask(url: string): void; onClose(): void }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const last = useRef<{ x: number; y: number } | null>(null);
  const [brush, setBrush] = useState(BRUSH.initial);
  const [cursor, setCursor] = useState<{ x: number; y: number } | null>(null);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);

  /** The canvas takes the image's natural size, so the mask lines up pixel for pixel. */
  function fit(img: HTMLImageElement) {
    const c = canvas.current!;
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
  }

  /** A point in canvas pixels from one in shown pixels, and the brush radius at that scale. */
  function toCanvas(x: number, y: number) {
    const c = canvas.current!;
    const scale = c.width / c.getBoundingClientRect().width;
    return { x: x * scale, y: y * scale, r: (brush / 2) * scale };
  }

  function stroke(from: { x: number; y: number } | null, to: { x: number; y: number }) {
    const ctx = canvas.current!.getContext('2d')!;
    const a = toCanvas((from ?? to).x, (from ?? to).y);
    const b = toCanvas(to.x, to.y);
    ctx.strokeStyle = '#fff';
    ctx.lineCap = 'round';
    ctx.lineWidth = b.r * 2;
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
  }

  const at = (e: PointerEvent) => ({ x: e.offsetX, y: e.offsetY });

  function onKeyDown(e: KeyboardEvent) {
    const rect = canvas.current!.getBoundingClientRect();
    const here = cursor ?? { x: rect.width / 2, y: rect.height / 2 };
    const moves: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    const move = moves[e.key];
    if (move) {
      const next = { x: clamp(here.x + move[0] * KEY_STEP, 0, rect.width), y: clamp(here.y + move[1] * KEY_STEP, 0, rect.height) };
      if (e.shiftKey) stroke(here, next);
      setCursor(next);
    } else if (e.key === ' ' || e.key === 'Enter') {
      stroke(null, here);
      setCursor(here);
    } else return;
    e.preventDefault();
  }

  async function use() {
    const c = canvas.current!;
    const out = document.createElement('canvas');
    out.width = c.width;
    out.height = c.height;
    const ctx = out.getContext('2d')!;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.drawImage(c, 0, 0);
    setBusy(true);
    setFailure(null);
    try {
      const png = await new Promise<Blob | null>((resolve) => out.toBlob(resolve, 'image/png'));
      if (!png) throw new Error('the browser could not encode the mask');
      onMask(await uploadImage(api, png, 'mask.png'));
    } catch (err) {
      setFailure(`Upload failed: ${messageOf(err)}`);
      setBusy(false);
    }
  }

  return (
    <div class="painter">
      <div class="painter-stage">
        <img src={imageSrc} alt="" onLoad={(e) => fit(e.currentTarget)} />
        <canvas
          ref={canvas}
          tabIndex={0}
          aria-label="Mask painter"
          aria-describedby="mask-painter-help"
          onPointerDown={(e) => {
            e.currentTarget.setPointerCapture(e.pointerId);
            last.current = at(e);
            stroke(null, last.current);
          }}
          onPointerMove={(e) => {
            if (!last.current) return;
            const next = at(e);
            stroke(last.current, next);
            last.current = next;
          }}
          onPointerUp={() => (last.current = null)}
          onPointerCancel={() => (last.current = null)}
          onKeyDown={onKeyDown}
          onBlur={() => setCursor(null)}
        />
        {cursor && <span class="brush-cursor" style={{ left: `${cursor.x}px`, top: `${cursor.y}px`, width: `${brush}px`, height: `${brush}px` }} />}
      </div>
      <p id="mask-painter-help" class="muted">
        Paint what to repaint. Keyboard: arrows move the brush, Shift+arrows paint, Space paints a dot.
      </p>
      <div class="painter-tools">
        <label>
          Brush size
          <input type="range" min={BRUSH.min} max={BRUSH.max} value={brush} onInput={(e) => setBrush(Number(e.currentTarget.value))} />
        </label>
        <button type="button" onClick={() => canvas.current!.getContext('2d')!.clearRect(0, 0, canvas.current!.width, canvas.current!.height)}>
          Clear mask
        </button>
        <button type="button" class="primary" disabled={busy} onClick={() => void use()}>
          Use mask
        </button>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {busy && <span role="status">Uploading the mask…</span>}
      {failure && (
        <p class="error" role="alert">
          {failure}
        </p>
      )}
    </div>
  );
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
