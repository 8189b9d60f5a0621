// The Index panel: the document index the trainer retrieves from (its version and staleness), the
// index build in flight with its progress and ETA, the refresh timeline (trainer lane, builder lane,
// staleness over time), and the latest refreshes. Reads the studio store; redraws at most once per
// animation frame, and twice a second while a build runs so its bar keeps growing.
import { useEffect, useState } from 'react';
import type { RefreshRecord } from '../model/metrics';
import { ProgressBar } from './ProgressBar';
import { RefreshTimeline } from './RefreshTimeline';
import { buildTimeline, stepsDuringBuilds, type Timeline } from '../app/refresh-timeline';
import type { Runtime } from '../app/runtime';
import { useStudio } from '../app/studio-store';
import { plural } from '../app/progress-view';
import { extendTestHook } from '../app/test-hook';
import './index-panel.css';

interface View {
  timeline: Timeline;
  indexVersion: number;
  staleness: number;
  refreshes: RefreshRecord[];
}

function currentView(): View {
  const { run, events, build } = useStudio.getState();
  const last = run?.history.steps.at(-1);
  return {
    timeline: buildTimeline(events, build, Date.now()),
    indexVersion: last?.indexVersion ?? 0,
    staleness: last?.staleness ?? 0,
    refreshes: run?.history.refreshes.slice(-4).reverse() ?? [],
  };
}

const POLICY_EXPLAIN: Record<string, string> = {
  async: 'asynchronous: the builder re-embeds the corpus while the trainer keeps training on the previous index',
  sync: 'synchronous: the trainer waits for every rebuild',
  frozen: 'frozen: the first index is never rebuilt',
  'every-R-steps': 'a rebuild every R steps, swapped in when ready',
};

export function IndexPanel({ rt }: { rt: Runtime }) {
  const run = useStudio((s) => s.run);
  const build = useStudio((s) => s.build);
  const [view, setView] = useState<View>(currentView);

  useEffect(() => {
    let pending = 0;
    const update = () => {
      pending = 0;
      setView(currentView());
    };
    const schedule = () => {
      if (!pending) pending = requestAnimationFrame(update);
    };
    const unsubscribe = useStudio.subscribe((s, prev) => {
      if (s.tick !== prev.tick || s.build !== prev.build || s.run !== prev.run) schedule();
    });
    // A running build's bar grows with the clock, not only with events.
    const timer = setInterval(() => {
      if (useStudio.getState().build) schedule();
    }, 500);
    return () => {
      unsubscribe();
      clearInterval(timer);
      if (pending) cancelAnimationFrame(pending);
    };
  }, []);

  useEffect(() => {
    extendTestHook('index', {
      timeline: () => {
        const t = buildTimeline(useStudio.getState().events, useStudio.getState().build, Date.now());
        return {
          bars: t.bars,
          spans: t.spans.length,
          stalenessPoints: t.staleness.length,
          stepsDuringBuilds: stepsDuringBuilds(t),
        };
      },
      drawnBars: () => document.querySelectorAll('[data-testid="timeline-build"]').length,
    });
  }, []);

  const policy = run?.settings.policy;
  const every = run?.settings.config.refreshEvery;
  const t = view.timeline;
  return (
    <section className="panel panel-index" aria-labelledby="index-title" data-testid="index-panel">
      <h2 id="index-title">Index</h2>
      <dl className="index-stats">
        <dt title="The index version the trainer retrieves its top-k documents from; each refresh makes a new one">
          Index version
        </dt>
        <dd data-testid="index-version">{view.indexVersion > 0 ? `v${view.indexVersion}` : 'none yet'}</dd>
        <dt title="Staleness: steps since the snapshot of the weights θ′ that built the index in use. The retriever's current weights θ have moved on since; REALM tolerates some staleness.">
          Staleness
        </dt>
        <dd data-testid="index-staleness">{view.indexVersion > 0 ? plural(view.staleness, 'step') : '–'}</dd>
        <dt title="Where the index builder runs: a Web Worker beside the trainer, or the main thread in slices between steps">
          Builder
        </dt>
        <dd>{rt.builder.mode === 'worker' ? 'Web Worker' : 'main thread (slices between steps)'}</dd>
        <dt title="When the index is rebuilt">Refresh</dt>
        <dd>{policy ? `${POLICY_EXPLAIN[policy] ?? policy}${every ? ` (R = ${plural(every, 'step')})` : ''}` : '–'}</dd>
      </dl>
      {build ? (
        <ProgressBar
          progress={build.progress}
          label={`Building v${build.version} (snapshot at step ${build.snapshotStep})`}
          testId="build-progress"
        />
      ) : (
        run && (
          <p className="muted index-idle">
            {t.bars.length > 0 || view.indexVersion > 0
              ? 'Builder idle: the next snapshot is taken at the next refresh step.'
              : run.phase?.phase === 'realm'
                ? 'Building the first index…'
                : 'The first index is built when the REALM phase starts.'}
          </p>
        )
      )}
      <h3 className="index-subtitle" title="Wall time, left to right: the builder's bars run while the trainer's steps continue">
        Refresh timeline
      </h3>
      {t.spans.length === 0 && t.bars.length === 0 ? (
        <p className="muted">Start a run: the trainer's steps and the builder's jobs appear here side by side.</p>
      ) : (
        <RefreshTimeline timeline={t} />
      )}
      {view.refreshes.length > 0 && (
        <ul className="refresh-list" aria-label="Latest index refreshes">
          {view.refreshes.map((r) => (
            <li key={r.version}>
              v{r.version}: snapshot at step {r.snapshotStep}, swapped in at step {r.swapStep}, {plural(r.chunks, 'passage')} in{' '}
              {(r.durationMs / 1000).toFixed(1)} s
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
