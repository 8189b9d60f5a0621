// The Model & run config panel: every setting of the next run, kept in the page's URL (so copying the
// link shares the setup), one-click setups, and the backend (which needs a reload to change). The
// settings a first run changes come first; REALM's options and the research knobs fold away. A value
// the link gave but that was ignored shows the default in its field, with a note.
import { useState, type ReactNode } from 'react';
import type { PresetName } from '../model/config';
import {
  defaultValue,
  PAGE_KEYS,
  PRESET_NAMES,
  RUN_PARAMS,
  runSettingsFromUrl,
  withParam,
  type ParamGroup,
  type RunParam,
  type RunStart,
} from '../app/run-settings';
import type { Runtime } from '../app/runtime';
import { useStudio } from '../app/studio-store';
import { CLASSROOM_QUERY } from '../app/first-run';
import './config-panel.css';

/** One-click setups: each replaces every run setting (the backend stays). The Classroom demo is first-run.ts's. */
const SETUPS: readonly { name: string; help: string; query: string }[] = [
  {
    name: 'Smoke test',
    help: 'A few steps of each phase: checks that everything runs (seconds on a GPU).',
    query: 'preset=tiny&ict=2&mlm=2&realm=8&refresh=async&every=2&ckpt=2&eval=4&batch=2',
  },
  {
    name: 'Classroom demo',
    help: 'The warm start (a reader that can read, an ICT retriever, BERT’s vocabulary), REALM only, a few hundred steps: watch retrieval help while the index refreshes.',
    query: CLASSROOM_QUERY,
  },
  {
    name: 'Frozen index',
    help: 'The ablation: the index built after ICT is never refreshed.',
    query: 'preset=tiny&ict=100&mlm=200&realm=300&refresh=frozen&eval=50&ckpt=25',
  },
  {
    name: 'Small (GPU)',
    help: 'The small preset (4 layers, hidden 256): for a real GPU.',
    query: 'preset=small&refresh=async&eval=200&ckpt=100',
  },
];

/** The folded groups of settings, after the basic ones. */
const GROUPS: readonly { group: ParamGroup; title: string; hint: string }[] = [
  { group: 'paper', title: 'Paper options', hint: 'REALM’s design choices: retrieval, masking, index refresh' },
  { group: 'advanced', title: 'Advanced', hint: 'research knobs, seed, checkpoints and evaluation' },
];

/** A field with its one-line explanation, and a note when the link's value was ignored. */
function Field({ hint, ignored, children }: { hint: string; ignored?: string; children: ReactNode }) {
  return (
    <div className="config-field">
      {children}
      {ignored !== undefined && (
        <span className="config-ignored" role="note" data-testid="config-ignored">
          “{ignored}” from the link was ignored; the default is used.
        </span>
      )}
      <span className="config-hint muted">{hint}</span>
    </div>
  );
}

function currentSearch(): string {
  return window.location.search;
}

function setSearch(search: string): void {
  window.history.replaceState(null, '', `${window.location.pathname}${search}${window.location.hash}`);
}

export function ConfigPanel({ rt }: { rt: Runtime }) {
  const [search, setSearchState] = useState(currentSearch);
  const [copied, setCopied] = useState(false);
  const running = useStudio((s) => s.status === 'running');
  const params = new URLSearchParams(search);
  const settings = runSettingsFromUrl(search);
  const preset = settings.preset;
  const rawBackend = (params.get('backend') ?? 'auto').toLowerCase();
  // A backend the page does not know is ignored (the header says so): the form shows auto, and no reload is offered.
  const urlBackend = PAGE_KEYS.backend.includes(rawBackend) ? rawBackend : 'auto';
  const activeBackend = rt.backend.backend;

  const update = (next: string) => {
    setSearch(next);
    setSearchState(next);
    setCopied(false);
  };
  const setParam = (key: string, value: string | null) => update(withParam(search, key, value));
  const applySetup = (query: string) => {
    const next = new URLSearchParams(query);
    const backend = params.get('backend');
    if (backend) next.set('backend', backend);
    update(`?${next.toString()}`);
  };
  const fieldsOf = (group: ParamGroup) =>
    RUN_PARAMS.filter((p) => p.group === group).map((p) => (
      <ParamField
        key={p.key}
        param={p}
        preset={preset}
        start={settings.start}
        value={params.get(p.key)}
        ignored={settings.ignored[p.key]}
        onChange={(v) => setParam(p.key, v)}
      />
    ));
  const copyLink = async () => {
    try {
      await navigator.clipboard.writeText(window.location.href);
      setCopied(true);
    } catch {
      window.prompt('Copy this link to share the setup:', window.location.href);
    }
  };

  return (
    <section className="panel panel-config" aria-labelledby="config-title" data-testid="config-panel">
      <h2 id="config-title">Model &amp; run config</h2>
      <p className="muted config-note">
        Settings for the next run; they live in the page's URL, so the link reproduces this setup.
        {running && ' The run in progress keeps the settings it started with.'}
      </p>
      <div className="config-setups" role="group" aria-label="One-click setups">
        {SETUPS.map((s) => (
          <button key={s.name} type="button" title={s.help} onClick={() => applySetup(s.query)}>
            {s.name}
          </button>
        ))}
      </div>
      <div className="config-grid">
        <label
          htmlFor="cfg-preset"
          title="Model size: tiny (hidden 32, 2 layers), small (hidden 256, 4 layers), base (BERT-base sized)."
        >
          Preset
        </label>
        <Field
          hint="Model size: tiny trains in minutes on any machine; small and base want a real GPU."
          ignored={settings.ignored.preset}
        >
          <select
            id="cfg-preset"
            value={preset}
            onChange={(e) => setParam('preset', e.target.value === 'tiny' ? null : e.target.value)}
          >
            {PRESET_NAMES.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </Field>
        {fieldsOf('basic')}
        <label
          htmlFor="cfg-backend"
          title="The tfjs backend of the page. Changing it reloads the page (a backend cannot be swapped under a live model)."
        >
          Backend
        </label>
        <Field hint={`Where the maths runs; this page runs on ${activeBackend}.`} ignored={settings.ignored.backend}>
          <div className="config-backend">
            <select
              id="cfg-backend"
              value={urlBackend}
              onChange={(e) => setParam('backend', e.target.value === 'auto' ? null : e.target.value)}
            >
              {PAGE_KEYS.backend.map((b) => (
                <option key={b} value={b}>
                  {b}
                </option>
              ))}
            </select>
            {urlBackend !== 'auto' && urlBackend !== activeBackend && (
              <button
                type="button"
                onClick={() => window.location.reload()}
                title="Reload the page on the chosen backend (stored runs and corpora are kept)"
              >
                Reload on {urlBackend}
              </button>
            )}
          </div>
        </Field>
      </div>
      {GROUPS.map((g) => (
        <details
          key={g.group}
          className="config-group"
          data-testid={`config-${g.group}`}
          open={RUN_PARAMS.some((p) => p.group === g.group && p.key in settings.ignored) || undefined}
        >
          <summary>
            {g.title} <span className="muted">— {g.hint}</span>
          </summary>
          <div className="config-grid">{fieldsOf(g.group)}</div>
        </details>
      ))}
      {settings.warnings.length > 0 && (
        <ul className="notices" data-testid="config-warnings">
          {settings.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      <div className="config-actions">
        <button type="button" onClick={() => void copyLink()} title="Copy the page's link: opening it restores these settings">
          Copy link to this setup
        </button>
        <button
          type="button"
          onClick={() => update(params.get('backend') ? `?backend=${params.get('backend')}` : '')}
          title="Back to the tiny preset's defaults"
        >
          Reset
        </button>
        {copied && <span role="status">Link copied.</span>}
      </div>
    </section>
  );
}

function ParamField({
  param,
  preset,
  start,
  value,
  ignored,
  onChange,
}: {
  param: RunParam;
  preset: PresetName;
  start: RunStart;
  value: string | null;
  /** The link's value when it was ignored: the field then shows the default. */
  ignored?: string;
  onChange: (v: string | null) => void;
}) {
  const id = `cfg-${param.key}`;
  const fallback = defaultValue(param, preset, start);
  const k = param.kind;
  const shown = ignored !== undefined ? fallback : value;
  return (
    <>
      <label htmlFor={id} title={param.help}>
        {param.label}
      </label>
      <Field hint={param.hint} ignored={ignored}>
        {k.type === 'choice' ? (
          <select
            id={id}
            value={shown ?? fallback}
            title={param.help}
            aria-invalid={ignored !== undefined || undefined}
            onChange={(e) => onChange(e.target.value === fallback ? null : e.target.value)}
          >
            {k.values.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        ) : (
          <input
            id={id}
            type="number"
            inputMode={k.type === 'int' ? 'numeric' : 'decimal'}
            min={k.min}
            max={k.max}
            step={k.type === 'int' ? 1 : 'any'}
            placeholder={fallback}
            value={shown ?? ''}
            title={`${param.help} From ${k.min} to ${k.max}. Empty: ${fallback} (the preset's value).`}
            aria-invalid={ignored !== undefined || undefined}
            onChange={(e) => onChange(e.target.value)}
          />
        )}
      </Field>
    </>
  );
}
