// The Embedding map panel: a 2-D PCA projection of the document index (Embed_doc(z) of every passage
// under the snapshot θ′ that built the index in use), recomputed at each swap, drawn on a canvas. The
// pinned query (Embed_input(x) under the current θ) and its top-k passages are highlighted, so a
// teacher can show the retriever reorganising the space. The PCA runs in tfjs off the render path,
// after the swap, in a few short asynchronous pieces; hovering a point shows its passage title.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { EmbeddingMap } from '../model/embedding-map';
import { IndexNotStoredYet, mapExplained, mapOfIndex, passageTitle, queryMapPoint } from '../app/embedding-map-source';
import { fitView, formatExplained, nearestPoint, type MapView } from '../app/embedding-map-view';
import type { Runtime } from '../app/runtime';
import { useStudio } from '../app/studio-store';
import { extendTestHook } from '../app/test-hook';
import { resolveCssColour, useThemeVersion, withAlpha } from './theme-colors';
import './embedding-map-panel.css';

interface MapState {
  map: EmbeddingMap | null;
  /** Version being computed, or 0. */
  computing: number;
  error: string | null;
  /** A normal wait (the index in use not stored yet), said in a neutral tone. */
  waiting: string | null;
  /** Time the last map took, in milliseconds. */
  ms: number;
}

const IDLE: MapState = { map: null, computing: 0, error: null, waiting: null, ms: 0 };

/** The index version the trainer uses now: the last swap, or the restored index of a resumed run. */
function versionInUse(): number {
  const run = useStudio.getState().run;
  if (!run) return 0;
  return Math.max(run.history.refreshes.at(-1)?.version ?? 0, run.history.steps.at(-1)?.indexVersion ?? 0);
}

export function EmbeddingMapPanel({ rt }: { rt: Runtime }) {
  const run = useStudio((s) => s.run);
  const pinned = useStudio((s) => s.pinned);
  const [state, setState] = useState<MapState>(IDLE);
  const [queryPoint, setQueryPoint] = useState<[number, number] | null>(null);
  const [hover, setHover] = useState<{ row: number; x: number; y: number } | null>(null);
  const [titles, setTitles] = useState<Record<number, string>>({});
  const [width, setWidth] = useState(360);
  const theme = useThemeVersion();
  const host = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const view = useRef<MapView | null>(null);
  const drawn = useRef({ version: 0, points: 0, highlighted: 0, query: false });
  /** Rows whose title was asked of storage (once each). */
  const requested = useRef(new Set<number>());
  const height = Math.round(Math.min(360, Math.max(220, width * 0.72)));

  // Recompute the map when the index in use changes (one computation at a time; the newest wins).
  useEffect(() => {
    let live = true;
    let busy = false;
    let doneVersion = 0;
    let prev: EmbeddingMap | null = null;
    let forRun = useStudio.getState().run;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const check = () => {
      clearTimeout(retry);
      if (!live) return;
      const r = useStudio.getState().run;
      if (r !== forRun) {
        forRun = r;
        prev = null;
        doneVersion = 0;
        setState(IDLE);
        setQueryPoint(null);
      }
      const v = versionInUse();
      if (!r || busy || v <= 0 || v === doneVersion) return;
      busy = true;
      setState((s) => ({ ...s, computing: v }));
      void (async () => {
        const t0 = performance.now();
        try {
          // Let the trainer take its next step first: the map is never urgent.
          await new Promise((res) => setTimeout(res, 0));
          const map = await mapOfIndex(rt, r, v, prev);
          if (!live || useStudio.getState().run !== r) return;
          prev = map;
          setState({ map, computing: 0, error: null, waiting: null, ms: performance.now() - t0 });
          doneVersion = v;
        } catch (e) {
          if (e instanceof IndexNotStoredYet) {
            // Not a failure: look again in a second (or at the next step), without marking v done.
            if (live) setState((s) => ({ ...s, computing: 0, error: null, waiting: e.message }));
            retry = setTimeout(check, 1000);
          } else {
            doneVersion = v;
            if (live)
              setState((s) => ({ ...s, computing: 0, waiting: null, error: `${(e as Error).name}: ${(e as Error).message}` }));
          }
        } finally {
          busy = false;
          if (live && doneVersion === v) setTimeout(check, 0);
        }
      })();
    };
    check();
    const unsubscribe = useStudio.subscribe((s, p) => {
      if (s.tick !== p.tick || s.run !== p.run) check();
    });
    return () => {
      live = false;
      clearTimeout(retry);
      unsubscribe();
    };
  }, [rt]);

  // The pinned query's point: Embed_input(x) under the current θ, projected with the map's axes.
  const map = state.map;
  useEffect(() => {
    if (!map || !pinned || !run) {
      setQueryPoint(null);
      return;
    }
    let live = true;
    queryMapPoint(run, pinned.query, map).then(
      (p) => live && p && setQueryPoint(p),
      () => live && setQueryPoint(null),
    );
    return () => {
      live = false;
    };
  }, [map, pinned, run]);

  // Titles of the highlighted passages, read from storage on demand (text only, never HTML).
  const titleOf = useCallback(
    (rows: number[]) => {
      const r = useStudio.getState().run;
      if (!r) return;
      for (const row of rows) {
        if (row < 0 || requested.current.has(row)) continue;
        requested.current.add(row);
        void passageTitle(rt, r.settings.corpusId, row).then((title) => {
          if (title !== undefined) setTitles((t) => ({ ...t, [row]: title }));
        });
      }
    },
    [rt],
  );
  // A new run: forget the titles (its corpus may differ). Before the request below, so it keeps them.
  useEffect(() => {
    requested.current.clear();
    setTitles({});
  }, [run]);
  useEffect(() => {
    if (pinned) titleOf(pinned.topRows);
  }, [pinned, titleOf, run]);

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(Math.max(240, Math.round(el.clientWidth))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Draw.
  useEffect(() => {
    const c = canvas.current;
    const el = host.current;
    if (!c || !el) return;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(width * dpr);
    c.height = Math.round(height * dpr);
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    if (!map) {
      view.current = null;
      drawn.current = { version: 0, points: 0, highlighted: 0, query: false };
      return;
    }
    const colour = (v: string) => resolveCssColour(el, v);
    const docColour = colour('--series-1');
    const topColour = colour('--series-2');
    const queryColour = colour('--series-4');
    const fg = colour('--fg');
    const muted = colour('--muted');
    // Fit the passages only: Embed_input(x) comes from another encoder and can sit far from them;
    // a query outside the frame is drawn at the edge, in its direction.
    const v = fitView(map.points, [], width, height, 16);
    const edge = 10;
    const qx = queryPoint ? v.toX(queryPoint[0]) : 0;
    const qy = queryPoint ? v.toY(queryPoint[1]) : 0;
    const qOutside = !!queryPoint && (qx < edge || qx > width - edge || qy < edge || qy > height - edge);
    const qPix: [number, number] = [Math.min(width - edge, Math.max(edge, qx)), Math.min(height - edge, Math.max(edge, qy))];
    view.current = v;
    const pts = map.points;
    const n = pts.length / 2;
    // Axes through the mean (the origin of the projection).
    ctx.strokeStyle = withAlpha(muted, 0.35);
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(0, v.toY(0));
    ctx.lineTo(width, v.toY(0));
    ctx.moveTo(v.toX(0), 0);
    ctx.lineTo(v.toX(0), height);
    ctx.stroke();
    ctx.fillStyle = muted;
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillText('PC1 →', width - 44, v.toY(0) - 4);
    ctx.fillText('↑ PC2', v.toX(0) + 4, 12);
    // Every passage.
    const r = n > 3000 ? 1.2 : n > 800 ? 1.8 : 2.5;
    ctx.fillStyle = withAlpha(docColour, 0.55);
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      const x = v.toX(pts[2 * i]);
      const y = v.toY(pts[2 * i + 1]);
      ctx.moveTo(x + r, y);
      ctx.arc(x, y, r, 0, 2 * Math.PI);
    }
    ctx.fill();
    // The pinned query's top-k: rings, and lines from the query.
    const top = (pinned?.topRows ?? []).filter((row) => row >= 0 && row < n);
    if (queryPoint && top.length) {
      ctx.strokeStyle = withAlpha(topColour, 0.6);
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      for (const row of top) {
        ctx.moveTo(qPix[0], qPix[1]);
        ctx.lineTo(v.toX(pts[2 * row]), v.toY(pts[2 * row + 1]));
      }
      ctx.stroke();
      ctx.setLineDash([]);
    }
    ctx.lineWidth = 2;
    ctx.strokeStyle = topColour;
    top.forEach((row, rank) => {
      const x = v.toX(pts[2 * row]);
      const y = v.toY(pts[2 * row + 1]);
      ctx.beginPath();
      ctx.arc(x, y, 6, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.fillStyle = topColour;
      ctx.fillText(String(rank + 1), x + 8, y - 6);
    });
    if (queryPoint) {
      const [x, y] = qPix;
      ctx.fillStyle = qOutside ? withAlpha(queryColour, 0.45) : queryColour;
      ctx.strokeStyle = fg;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      for (let i = 0; i < 10; i++) {
        const a = -Math.PI / 2 + (i * Math.PI) / 5;
        const rad = i % 2 === 0 ? 9 : 4;
        ctx.lineTo(x + rad * Math.cos(a), y + rad * Math.sin(a));
      }
      ctx.closePath();
      ctx.fill();
      ctx.stroke();
    }
    if (hover && hover.row < n) {
      ctx.strokeStyle = fg;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      ctx.arc(v.toX(pts[2 * hover.row]), v.toY(pts[2 * hover.row + 1]), 5, 0, 2 * Math.PI);
      ctx.stroke();
    }
    if (qOutside) {
      ctx.fillStyle = muted;
      ctx.textAlign = qPix[0] > width / 2 ? 'right' : 'left';
      ctx.fillText(
        'query (outside the view)',
        qPix[0] + (qPix[0] > width / 2 ? -12 : 12),
        Math.min(height - 4, Math.max(12, qPix[1] + 4)),
      );
      ctx.textAlign = 'left';
    }
    drawn.current = { version: map.version, points: n, highlighted: top.length, query: !!queryPoint };
  }, [map, queryPoint, pinned, hover, width, height, theme]);

  useEffect(() => {
    extendTestHook('map', {
      state: () => ({
        version: state.map?.version ?? 0,
        points: state.map ? state.map.points.length / 2 : 0,
        explained: state.map ? mapExplained(state.map) : null,
        computing: state.computing,
        error: state.error,
        ms: state.ms,
        drawn: { ...drawn.current },
      }),
      /** Where passage `row` is drawn, in CSS pixels from the canvas's top left. */
      pixelOf: (row: number) => {
        const v = view.current;
        const pts = state.map?.points;
        return v && pts ? [v.toX(pts[2 * row]), v.toY(pts[2 * row + 1])] : null;
      },
    });
  }, [state]);

  const onMove = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const v = view.current;
    if (!v || !map) return;
    const box = e.currentTarget.getBoundingClientRect();
    const px = e.clientX - box.left;
    const py = e.clientY - box.top;
    const row = nearestPoint(map.points, v, px, py, 8);
    if (row < 0) {
      if (hover) setHover(null);
      return;
    }
    if (!hover || hover.row !== row) {
      setHover({ row, x: px, y: py });
      titleOf([row]);
    }
  };

  const ratio = map ? mapExplained(map) : null;
  return (
    <section className="panel panel-map" aria-labelledby="map-title" data-testid="map-panel">
      <h2 id="map-title">Embedding map</h2>
      <p className="map-caption muted">
        Every passage of the index as a dot: Embed_doc(z) under the weights θ′ that built the index in use, projected on its two
        principal axes (PCA). Recomputed at each refresh, so you can watch the retriever reorganise the space.
      </p>
      <div className="map-meta" data-testid="map-meta">
        {map ? (
          <>
            <span title="The index version the map shows">index v{map.version}</span>
            <span>{(map.points.length / 2).toLocaleString('en')} passages</span>
            <span title="Share of the variance of the document embeddings that each axis shows; the rest is in the dimensions the map leaves out">
              {formatExplained(ratio!)} of the variance
            </span>
            {state.computing > 0 && <span>updating to v{state.computing}…</span>}
          </>
        ) : state.computing > 0 ? (
          <span role="status">Projecting index v{state.computing}…</span>
        ) : state.waiting ? (
          <span role="status" data-testid="map-waiting">
            {state.waiting}
          </span>
        ) : (
          <span>
            {run
              ? 'The map appears when the first index is swapped in (start of the REALM phase).'
              : 'Start a run: the map appears with the first index.'}
          </span>
        )}
      </div>
      {state.error && (
        <p className="error" role="alert">
          {state.error}
        </p>
      )}
      <div ref={host} className="map-canvas-host">
        <canvas
          ref={canvas}
          data-testid="map-canvas"
          style={{ width: `${width}px`, height: `${height}px` }}
          role="img"
          aria-label={
            map
              ? `Embedding map of index v${map.version}: ${map.points.length / 2} passages${pinned ? ', with the pinned query and its top passages highlighted' : ''}`
              : 'Embedding map (empty)'
          }
          onPointerMove={onMove}
          onPointerLeave={() => setHover(null)}
        />
        {hover && (
          <div
            className="map-tooltip"
            style={{ left: Math.min(hover.x + 12, width - 180), top: hover.y + 12 }}
            data-testid="map-tooltip"
          >
            {titles[hover.row] ?? `passage ${hover.row}`}
          </div>
        )}
      </div>
      <div className="map-key">
        <span className="map-key-item">
          <span className="map-swatch map-swatch-doc" /> passage
        </span>
        <span
          className="map-key-item"
          title="The pinned sentence's Embed_input(x) under the current weights θ. Its retrieval score with a passage is their inner product, so nearness on the map is only a hint."
        >
          <span className="map-swatch map-swatch-query">★</span> pinned query
        </span>
        <span className="map-key-item">
          <span className="map-swatch map-swatch-top" /> its top-k passages
        </span>
      </div>
      {pinned ? (
        <div className="map-pinned">
          <p>
            <strong>Pinned:</strong> <span className="map-pinned-text">{pinned.text}</span>
          </p>
          {pinned.topRows.length > 0 && (
            <ol className="map-top">
              {pinned.topRows.map((row) => (
                <li key={row}>{titles[row] ?? `passage ${row}`}</li>
              ))}
            </ol>
          )}
        </div>
      ) : (
        <p className="muted map-hint">Pin a sentence in the Inspector to see it and its retrieved passages here.</p>
      )}
    </section>
  );
}
